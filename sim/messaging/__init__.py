"""Messaging services: SQS queues, event source mappings, SNS topics and EventBridge buses."""
