"""InfluxDB: the client, RR tables to and from the server, and a local server helper for tests."""
