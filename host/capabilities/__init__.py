"""The `directus:api` capabilities a guest may import: `log`, `sleep`, `request`.

`build_capabilities` decides which exist for an extension from its requested
scopes; a capability that was not requested is a function that refuses with
`No permission to access "<name>"`, an error the guest can catch.
"""

from host.capabilities.base import CallContext, Capability, CapabilitySet, build_capabilities

__all__ = ["CallContext", "Capability", "CapabilitySet", "build_capabilities"]
