"""Model configs: ``configs/<model>.toml`` read into typed, validated records."""
