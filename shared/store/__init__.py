"""DynamoDB and S3 access: table definitions, repositories, cursors, blobs. The only boto3 user."""

from shared.store.objects import AlreadyExists, ObjectStore, Record, VersionConflict

__all__ = ["AlreadyExists", "ObjectStore", "Record", "VersionConflict"]
