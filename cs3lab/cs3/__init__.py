"""Async client of the CS3 APIs (grpc.aio + HTTP data transfers). Knows nothing of Jupyter."""

from .auth import SecretSource
from .client import AuthConfig, CS3Client, GatewayConfig
from .errors import CS3Error
from .files import Files

__all__ = ["AuthConfig", "CS3Client", "CS3Error", "Files", "GatewayConfig", "SecretSource"]
