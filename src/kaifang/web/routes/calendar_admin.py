"""Admin: the holiday table that extends the State Council schedule beyond the years the
``chinesecalendar`` package ships. Every change recomputes the due dates of open cases."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

import kaifang.cases  # noqa: F401 - subscribes open cases to calendar changes
from kaifang.auth.permissions import Principal
from kaifang.calendar.actions import CSV_COLUMNS, do_delete_day, do_import_csv, do_set_day
from kaifang.calendar.models import DayKind
from kaifang.calendar.queries import list_days, years_with_entries, years_without_data
from kaifang.calendar.workdays import package_covers
from kaifang.cases.clocks import china_today
from kaifang.errors import ValidationFailed
from kaifang.http.access import MANAGE_CALENDAR
from kaifang.http.deps import form_data, get_db
from kaifang.i18n import N_, _
from kaifang.web.routes.cases import upload
from kaifang.web.templating import flash, render

router = APIRouter(prefix="/admin/calendar")

MAX_CSV_BYTES = 1024 * 1024
KIND_LABELS = {DayKind.HOLIDAY: N_("Holiday"), DayKind.WORKDAY: N_("Make-up working day")}


def _year(value: str | int | None) -> int:
    try:
        year = int(value or 0)
    except ValueError:
        year = 0
    return year if 1990 <= year <= 2200 else china_today().year + 1


def _page(request: Request, db: Session, year: int, errors: dict[str, list[str]] | None = None,
          form: dict[str, str] | None = None, status: int = 200) -> Response:
    this_year = china_today().year
    shown = sorted(years_with_entries(db) | set(range(this_year - 1, this_year + 3)) | {year})
    return render(request, "calendar/admin.html", {
        "year": year, "days": list_days(db, year), "years": shown,
        "covered": {y: package_covers(y) for y in shown}, "missing": years_without_data(db, shown),
        "kinds": KIND_LABELS, "columns": ",".join(CSV_COLUMNS), "errors": errors or {},
        "form": form or {"date": f"{year}-01-01", "kind": DayKind.HOLIDAY},
    }, status)


@router.get("", response_class=HTMLResponse)
def calendar_page(request: Request, year: str = "", actor: Principal = Depends(MANAGE_CALENDAR),
                  db: Session = Depends(get_db)) -> Response:
    return _page(request, db, _year(year))


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single("date", _("Enter a date in the form YYYY-MM-DD.")) from None


@router.post("/days")
def set_day(request: Request, form: dict[str, str] = Depends(form_data),
            actor: Principal = Depends(MANAGE_CALENDAR), db: Session = Depends(get_db)) -> Response:
    try:
        day = _date(form.get("date", ""))
        do_set_day(db, actor, day, form.get("kind", ""), form.get("name", ""), form.get("note", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, _year(form.get("date", "")[:4]), exc.fields, form, 422)
    flash(request, _("%(date)s is saved.", date=day.isoformat()))
    return RedirectResponse(f"/admin/calendar?year={day.year}", status_code=303)


@router.post("/days/{day}/delete")
def delete_day(day: str, request: Request, actor: Principal = Depends(MANAGE_CALENDAR),
               db: Session = Depends(get_db)) -> Response:
    date = _date(day)
    do_delete_day(db, actor, date)
    db.commit()
    flash(request, _("The entry of %(date)s is removed.", date=date.isoformat()))
    return RedirectResponse(f"/admin/calendar?year={date.year}", status_code=303)


def _csv_text(file: UploadFile | None) -> str:
    if file is None:
        raise ValidationFailed.single("file", _("Choose a CSV file."))
    raw = file.file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise ValidationFailed.single("file", _("The file is larger than 1 MB."))
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed.single("file", _("The file is neither UTF-8 nor GB18030 text."))


@router.post("/import")
def import_csv(request: Request, form: dict[str, str] = Depends(form_data),
               file: UploadFile | None = Depends(upload), actor: Principal = Depends(MANAGE_CALENDAR),
               db: Session = Depends(get_db)) -> Response:
    year = _year(form.get("year"))
    try:
        count = do_import_csv(db, actor, _csv_text(file))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, year, exc.fields, None, 422)
    flash(request, _("%(count)s calendar entries imported.", count=count))
    return RedirectResponse(f"/admin/calendar?year={year}", status_code=303)
