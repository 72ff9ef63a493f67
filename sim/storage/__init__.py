"""The state services: DynamoDB tables (and S3 buckets to come), run in the account's loop."""
