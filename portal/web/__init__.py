"""The HTTP shell every blueprint shares: error pages, security headers, template helpers."""
