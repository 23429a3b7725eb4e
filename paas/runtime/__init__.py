"""Running containers: the Docker adapter, container planning, health checks."""
