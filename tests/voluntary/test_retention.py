"""CCER records are kept 10 years (cets.common.retention): a registered project's disclosed document cannot be
deleted by any path."""

import pytest
from django.db import transaction

from cets.common.errors import Conflict
from voluntary.models import Document

pytestmark = pytest.mark.django_db


def test_a_ccer_document_is_kept_ten_years(registered):
    document = registered.documents.first()
    assert document is not None
    with pytest.raises(Conflict, match="10 years"), transaction.atomic():
        Document.objects.filter(pk=document.pk).delete()
    assert Document.objects.filter(pk=document.pk).exists()
