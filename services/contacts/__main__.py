from services.common.service import run

from .service import ContactsService

run(ContactsService)
