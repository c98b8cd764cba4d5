"""Who the registry tells: a four-eyes proposal waits for a second regulator (approval needed); its
proposer learns the decision. Called from ``services._audit_tx``, the one place every transaction step
passes, inside the step's transaction."""

from django.urls import reverse
from django.utils.translation import gettext_noop

from cets.common.notifications import Kind, Note, msgid, notify
from entities.selectors import regulators_for

from .models import Account, Transaction

NATIONAL_ONLY = (Transaction.Kind.ISSUANCE, Transaction.Kind.WITHDRAWAL, Transaction.Kind.REVERSAL)
DECISIONS = {"approve": gettext_noop("Your %(kind)s proposal #%(id)s of %(quantity)s t was approved."),
             "reject": gettext_noop("Your %(kind)s proposal #%(id)s of %(quantity)s t was rejected.")}


def _approvers(tx: Transaction):
    """Regulators who may give the second approval: the nation's, and for an account of a province (or a city)
    that province's (or city's) regulators, except for the kinds only the nation approves."""
    account = tx.from_account or tx.to_account
    if tx.kind in NATIONAL_ONLY or account is None or account.is_national:
        return regulators_for()
    city_id = (Account.objects.filter(pk=account.pk).values_list("entity__city_id", flat=True).first()
               if account.entity_id else None)
    return regulators_for(province_id=account.province_id, city_id=city_id)


def transaction_notify(tx: Transaction, action: str) -> None:
    """Tell the approvers of a new four-eyes proposal, or its proposer of the decision on it."""
    params = {"kind": msgid(Transaction.Kind(tx.kind).label), "id": tx.pk, "quantity": tx.quantity}
    url = reverse("registry:transactions")
    if action == "propose" and tx.status == Transaction.Status.AWAITING_APPROVAL \
            and tx.kind in Transaction.FOUR_EYES_KINDS:
        approvers = _approvers(tx).exclude(pk=tx.proposed_by_id).only("pk", "email", "preferred_language")
        notify([Note(list(approvers), Kind.APPROVAL,
                     gettext_noop("A %(kind)s of %(quantity)s t (#%(id)s) waits for your approval."), params, url)])
    elif action in DECISIONS and tx.proposed_by_id and tx.proposed_by_id != tx.approved_by_id:
        notify([Note([tx.proposed_by], Kind.DECISION, DECISIONS[action], params, url)])
