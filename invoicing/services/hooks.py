"""Plug invoicing into the subscription lifecycle, usage ingestion and test clocks (app ready)."""


def register_hooks() -> None:
    from invoicing.services.billing import advance_step, on_ended, on_period_start
    from invoicing.services.dunning import advance_step as collection_advance_step
    from invoicing.services.payment_methods import customer_has_payment_method
    from invoicing.services.period_lines import invoiced_through
    from subscriptions.selectors.subscriptions import register_payment_method_check
    from subscriptions.services.customers import register_customer_updated_hook
    from subscriptions.services.lifecycle.hooks import register_ended_hook, register_period_start_hook
    from subscriptions.services.test_clocks import register_advance_step, register_delete_step
    from subscriptions.services.usage import register_invoiced_through

    register_period_start_hook(on_period_start)
    register_ended_hook(on_ended)
    register_invoiced_through(invoiced_through)
    register_advance_step(advance_step)
    register_advance_step(collection_advance_step)
    register_payment_method_check(customer_has_payment_method)
    register_customer_updated_hook(_enqueue_provider_customer_sync)
    register_delete_step(delete_test_data)
    import invoicing.services.credit_notes  # noqa: F401  (registers the approval handler)


def _enqueue_provider_customer_sync(customer_id: int) -> None:
    from django_q.tasks import async_task

    from subscriptions.models import Customer

    if Customer.objects.filter(pk=customer_id).exclude(stripe_id="").exists():
        async_task("invoicing.tasks.provider_customer_sync_task", customer_id, task_name=f"sync customer {customer_id}")


def delete_test_data(customers) -> None:
    """A test clock is deleted with its customers: their invoices, credit notes, balance and e-mails go too."""
    from invoicing.models import (
        BalanceTransaction,
        CreditNote,
        CustomerDunningPolicy,
        CustomerEntity,
        DunningCase,
        EmailLog,
        Invoice,
        Payment,
        PaymentAttempt,
        PaymentMethod,
        Refund,
    )

    ids = [c.pk for c in customers]
    if not ids:
        return
    EmailLog.objects.filter(customer_id__in=ids).delete()
    DunningCase.objects.filter(customer_id__in=ids).delete()
    CustomerDunningPolicy.objects.filter(customer_id__in=ids).delete()
    Refund.objects.filter(payment__customer_id__in=ids).delete()
    Payment.objects.filter(customer_id__in=ids).delete()
    PaymentAttempt.objects.filter(customer_id__in=ids).delete()
    PaymentMethod.objects.filter(customer_id__in=ids).delete()
    BalanceTransaction.objects.filter(customer_id__in=ids).delete()  # the queryset bypasses the row guard
    CreditNote.objects.filter(customer_id__in=ids).delete()
    Invoice.objects.filter(customer_id__in=ids).delete()
    CustomerEntity.objects.filter(customer_id__in=ids).delete()
