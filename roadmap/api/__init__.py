"""The JSON API under /api/v1/: thin views over the roadmap's services and selectors."""
