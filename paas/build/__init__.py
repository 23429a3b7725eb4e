"""Building images: the stack, buildpack detection, Dockerfile rendering, the Docker build."""
