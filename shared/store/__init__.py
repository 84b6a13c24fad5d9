"""DynamoDB and S3 access: table definitions, repositories, cursors, blobs. The only boto3 user."""

from shared.store.objects import AlreadyExists, Companion, ObjectStore, Record, VersionConflict

__all__ = ["AlreadyExists", "Companion", "ObjectStore", "Record", "VersionConflict"]
