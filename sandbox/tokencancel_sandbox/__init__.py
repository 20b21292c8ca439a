"""Local emulator of the three providers' cancel-token endpoints."""
