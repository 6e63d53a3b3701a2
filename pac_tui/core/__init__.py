"""What every other part builds on: clock, errors, paths, words for time, config, models."""
