"""The build: stages run in order, each skipped when its inputs did not change."""
