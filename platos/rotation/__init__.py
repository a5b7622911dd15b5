"""Key rotation, key status and the key canary (see README, "Rotate a key")."""

from platos.rotation.canary import CanaryMismatch, canary_ensure, canary_state, canary_verify
from platos.rotation.engine import RotationMisuse, RotationResult, Shard, keyring_columns
from platos.rotation.service import RotationPlan, key_rotation_plan, key_rotation_run
from platos.rotation.status import key_status

__all__ = [
    "CanaryMismatch",
    "RotationMisuse",
    "RotationPlan",
    "RotationResult",
    "Shard",
    "canary_ensure",
    "canary_state",
    "canary_verify",
    "key_rotation_plan",
    "key_rotation_run",
    "key_status",
    "keyring_columns",
]
