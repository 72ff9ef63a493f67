"""VPC networking: packets and route tables as arrays, network ACLs and security groups."""
