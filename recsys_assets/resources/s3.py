"""S3 object store: the pipeline's files under s3://<bucket>/<prefix>/."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects
from pydantic import Field, PrivateAttr

from recsys_assets.resources.object_store import ObjectStore, StoredObject

DELETE_BATCH = 1_000  # DeleteObjects takes at most 1,000 keys


class S3ObjectStore(ObjectStore):
    """Keys are relative to `prefix` in `bucket`; a full s3://<bucket>/<key> URL names a key outside it (inputs)."""

    s3: S3Resource = Field(description="dagster-aws S3 resource that builds the client (retries, region, endpoint).")
    bucket: str = Field(description="Bucket that holds everything the pipeline reads and writes.")
    prefix: str = Field(default="recsys", description="Folder inside the bucket; empty for the bucket's root.")
    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        """The S3 client, built once per resource instance."""
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _object_key(self, key: str) -> str:
        url_root = f"s3://{self.bucket}/"
        if key.startswith(url_root):
            return key[len(url_root) :]
        if key.startswith("s3://"):
            raise ValueError(f"{key} is outside the store's bucket {self.bucket}")
        return "/".join(part for part in (self.prefix.strip("/"), key.lstrip("/")) if part)

    def read_bytes(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=self._object_key(key))["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)

    def exists(self, key: str) -> bool:
        try:
            self.client().head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        return self.client().head_object(Bucket=self.bucket, Key=self._object_key(key))["ContentLength"]

    def list_keys(self, prefix: str) -> list[str]:
        """Keys of the object named `prefix` or under the folder `prefix/`, in the form `prefix` was given."""
        return [key for key, _ in self._listing(prefix)]

    def list_objects(self, prefix: str) -> list[StoredObject]:
        """As `list_keys`, with the ETag as version (a rewrite changes it) and LastModified."""
        return [
            StoredObject(key, item["ETag"].strip('"'), item["LastModified"].timestamp())
            for key, item in self._listing(prefix)
        ]

    def object_sizes(self, prefix: str = "") -> dict[str, int]:
        """{key: bytes} of the objects at `prefix` (the whole store by default)."""
        return {key: item["Size"] for key, item in self._listing(prefix)}

    def _listing(self, prefix: str) -> list[tuple[str, dict]]:
        """(key as the caller names it, ListObjectsV2 entry) of every object at `prefix`, sorted, through all
        pages (dagster-aws's `get_objects`)."""
        full = self._object_key(prefix)
        folder = full.rstrip("/") + "/" if full else ""
        found = get_objects(self.bucket, full, client=self.client())
        matches = sorted(
            (
                item
                for item in found
                if (item["Key"] == full or item["Key"].startswith(folder)) and not item["Key"].endswith("/")
            ),
            key=lambda item: item["Key"],
        )
        if prefix.startswith("s3://"):
            return [(f"s3://{self.bucket}/{item['Key']}", item) for item in matches]
        root = self._object_key("")
        return [(item["Key"][len(root) + 1 :] if root else item["Key"], item) for item in matches]

    def delete(self, keys: list[str]) -> None:
        object_keys = [self._object_key(key) for key in keys]
        for start in range(0, len(object_keys), DELETE_BATCH):
            batch = [{"Key": key} for key in object_keys[start : start + DELETE_BATCH]]
            response = self.client().delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise RuntimeError(
                    f"s3://{self.bucket}: {len(response['Errors'])} objects not deleted, "
                    f"e.g. {first['Key']}: {first['Code']} {first.get('Message', '')}"
                )

    def written_here(self, key: str, inbox: str) -> bool:
        root = self._object_key("")
        under_root = (lambda name: name.startswith(f"{root}/") or name == root) if root else (lambda name: True)
        inbox_key = self._object_key(inbox).rstrip("/")
        return not (under_root(inbox_key) and inbox_key != root) and under_root(self._object_key(key))

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"
