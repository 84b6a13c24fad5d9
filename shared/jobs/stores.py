"""Where the jobs dialect keeps its records (all in the objects table; no Scans).

job index     kind "jobindex", namespace = task namespace, name = "<inverted ms>-<jobId>":
              a Query on the partition lists jobs newest first, page by page
chain index   kind "jobchain", namespace = "<namespace>/<chainId>", name = "<depth>-<jobId>":
              the jobs of one chain in order
agents        kind "agent": the catalog's records (shared.catalog.stores.agents; see shared.jobs.agents)
instructions  kind "instruction"; webhook sources kind "webhooksource"; config kind "aiconfig"
              (singleton "defaults"); uploads kind "upload"
"""

from __future__ import annotations

from shared.store import ObjectStore
from shared.store.blobs import delete_blob

job_index = ObjectStore("jobindex")
chain_index = ObjectStore("jobchain")
instructions = ObjectStore("instruction")
webhook_sources = ObjectStore("webhooksource")
ai_config = ObjectStore("aiconfig")
uploads = ObjectStore("upload")
# The last model scan per namespace, expiring after SHOAL_MODELS_SCAN_CACHE_SECONDS (the scan cache).
model_scans = ObjectStore("modelscan")

CONFIG_NAME = "defaults"
STATS_SET = "jobs"


def delete_upload(store: ObjectStore, namespace: str, upload_id: str, not_found: str) -> dict[str, str]:
    """Delete an upload (a PDF or a workspace upload): its bytes in the bucket, then its record."""
    record = store.require(namespace, upload_id, not_found)
    delete_blob(record.doc["key"])
    store.delete(namespace, upload_id)
    return {"deleted": upload_id}
