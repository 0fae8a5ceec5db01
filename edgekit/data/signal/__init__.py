"""Signal processing on RR tables and workout grids: cleaning, features, windows, the personal baseline, HR kinetics."""
