"""`/server/health`."""

from fastapi import APIRouter

router = APIRouter(prefix="/server", tags=["server"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
