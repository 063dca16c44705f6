"""The landing zone: files external connectors upload, checked before the platform takes them."""
