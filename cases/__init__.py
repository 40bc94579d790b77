"""Cases: creating and editing them, their photos, and the demo campaign."""
