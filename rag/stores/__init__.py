"""Vector store implementations: embedded Qdrant Edge (default) and a Qdrant server via qdrant-client."""
