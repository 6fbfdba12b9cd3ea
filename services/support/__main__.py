from services.common.service import run

from .service import SupportService

run(SupportService)
