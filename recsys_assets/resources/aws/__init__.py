"""AWS implementations of the pipeline's roles; every client comes from `clients.aws_client`."""
