"""The boto config that points gsutil, the seed document's own client, at the local stack.

gsutil speaks only https to the JSON API, so it goes to the storage emulator's https port
and trusts the stack's self-signed certificate. No credentials are configured, so gsutil
runs anonymously and asks no token server. There is deliberately no [GoogleCompute]
section: gsutil 5.38 takes the mere presence of `service_account` (even empty) as GCE
credentials and would ask the metadata server for a token. Retries are few and short: a
local emulator that fails once fails again, and gsutil's defaults (23 retries, up to 32 s
apart) turn a wrong setting into minutes of silence.
"""

from pathlib import Path

from b8760_assets.local_stack.bigquery_emulator import LOCAL_PROJECT
from b8760_assets.local_stack.services import HOST
from b8760_assets.local_stack.storage_emulator import STORAGE, certificate_file
from b8760_assets.settings import state_dir


def boto_config_file() -> Path:
    return state_dir().absolute() / "gsutil" / "boto.cfg"


def write_boto_config() -> Path:
    """Write (or rewrite, for the current ports) the boto config; its path, for BOTO_CONFIG."""
    https_port = STORAGE.configured_ports()["https"]
    gsutil_state = boto_config_file().parent / "state"  # tracker files, not in ~/.gsutil
    gsutil_state.mkdir(parents=True, exist_ok=True)
    boto_config_file().write_text(
        f"""\
[Credentials]
gs_json_host = {HOST}
gs_json_port = {https_port}
gs_host = {HOST}
gs_port = {https_port}

[Boto]
https_validate_certificates = True
ca_certificates_file = {certificate_file(STORAGE.folder())}
num_retries = 2
max_retry_delay = 1

[GSUtil]
prefer_api = json
default_project_id = {LOCAL_PROJECT}
state_dir = {gsutil_state}
software_update_check_period = 0
disable_analytics_prompt = True
"""
    )
    return boto_config_file()
