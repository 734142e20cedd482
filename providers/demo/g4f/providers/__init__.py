"""Provider base classes and the sync/async bridges."""
