from services.common.service import run

from .service import MarketingService

run(MarketingService)
