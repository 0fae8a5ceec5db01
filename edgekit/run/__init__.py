"""Running trained models: predict, forecast, evaluate on real sets, the Grafana dashboard."""
