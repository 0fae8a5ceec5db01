"""Training: fit a model, fine-tune it to one person, the person scenario."""
