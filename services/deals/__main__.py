from services.common.service import run

from .service import DealsService

run(DealsService)
