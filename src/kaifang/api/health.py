from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kaifang import __version__
from kaifang.auth.permissions import Principal
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and database check")
def healthz(db: Session = Depends(get_db), _actor: Principal = Depends(PUBLIC)) -> JSONResponse:
    try:
        db.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded",
                           "database": database, "version": __version__}, status_code=status)
