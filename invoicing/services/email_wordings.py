"""What the customer e-mails say, in every language we write: one dictionary per language, per kind.

``invoicing.services.emails`` fills these in and lays them out with ``templates/emails/<kind>/``. A
wording is a sentence with ``{placeholders}`` from the message's context, or a tuple of alternatives:
the first whose placeholders are all known is used; a sentence none of whose alternatives can be filled
is left out. Every language has the same keys as English (a test holds them to it), so a translator
sees every sentence of a message side by side.
"""

from __future__ import annotations

from invoicing.models import EmailKind

__all__ = ["WORDINGS", "Wording"]

Wording = str | tuple[str, ...]

# fmt: off
WORDINGS: dict[str, dict[str, dict[str, Wording]]] = {
    "en": {
        "common": {
            "greeting": "Dear {customer_name},",
            "signoff": "Kind regards,",
            "questions": "Questions? Simply reply to this e-mail or write to {reply_to}.",
            "why_received": ("You receive this e-mail because you are a customer of {entity_name}.",),
            "vat_id": "VAT ID {entity_vat_id}",
            "button_fallback": "If the button does not work, copy this address into your browser:",
            "link_valid": "For your security, this link works for {link_days} days.",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Invoice {number} from {entity_name}",
            "heading": "Your invoice {number}",
            "intro": "Thank you for your business. Your invoice {number} for {total} is attached as a PDF.",
            "label_number": "Invoice number",
            "label_total": "Total",
            "label_amount_due": "Amount due",
            "label_due_date": "Due date",
            "how_to_pay": "How to pay",
            "label_beneficiary": "Account holder",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Payment reference",
            "pay_by_transfer": (
                "Please transfer {amount_due} by {due_date} to IBAN {iban}, quoting payment reference {reference}.",
                "Please transfer {amount_due} to IBAN {iban}, quoting payment reference {reference}.",
                "Please pay {amount_due} by {due_date}, quoting payment reference {reference}.",
                "Please pay {amount_due}, quoting payment reference {reference}.",
            ),
            "pay_automatically": (
                "{amount_due} will be charged to your payment method on file on {due_date}. "
                "You do not need to do anything.",
                "{amount_due} will be charged to your payment method on file. You do not need to do anything.",
            ),
            "nothing_due": "There is nothing to pay for this invoice.",
            "already_paid": "This invoice has already been paid. Thank you!",
            "credit_used": "{credit_applied} of your account credit was used for this invoice.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Credit note {number} for invoice {invoice_number}",
            "heading": "Credit note {number}",
            "intro": "We have issued credit note {number} for {total}, which corrects invoice {invoice_number}. "
                     "The credit note is attached as a PDF.",
            "label_number": "Credit note number",
            "label_invoice": "Corrects invoice",
            "label_total": "Amount credited",
            "what_happens": "What happens to the money",
            "pre_payment": "{pre_payment} is deducted from what you still owe on invoice {invoice_number}.",
            "invoice_remaining": (
                "{invoice_amount_due} is still due on invoice {invoice_number}.",
                "Nothing remains to be paid on invoice {invoice_number}.",
            ),
            "refund": "We are refunding {refund} to you. Depending on your bank, it can take a few business days "
                      "to arrive.",
            "credit": "{credit} is kept as credit on your account and will be deducted from your next invoices.",
            "out_of_band": "{out_of_band} has been settled with you separately.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Payment received for invoice {number}",
            "heading": "Thank you for your payment",
            "intro": "We received your payment of {amount} for invoice {number} on {paid_on}.",
            "label_number": "Invoice number",
            "label_amount": "Amount received",
            "label_paid_on": "Received on",
            "label_remaining": "Still due",
            "remaining": "{remaining} is still due on this invoice.",
            "paid_in_full": "The invoice is now paid in full.",
            "keep_as_receipt": "Please keep this e-mail as your receipt.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Your {plan} subscription renews on {renews_on}",
                "Your subscription renews on {renews_on}",
            ),
            "heading": "Your subscription renews soon",
            "intro": (
                "Your {plan} subscription renews automatically on {renews_on}.",
                "Your subscription renews automatically on {renews_on}.",
            ),
            "label_plan": "Plan",
            "label_renews_on": "Renews on",
            "label_estimate": "Next invoice (estimate)",
            "estimate": "Your next invoice will be about {estimate}, based on your current plan and usage so far.",
            "renewal_charge": "On that day we will charge your payment method on file.",
            "renewal_invoice": "On that day we will send you the invoice.",
            "change_note": "You do not need to do anything to continue. If you want to change or cancel your "
                           "subscription, please do so before {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Your trial ends on {trial_ends_on}",
            "heading": "Your trial ends soon",
            "intro": (
                "Your trial of {plan} ends on {trial_ends_on}.",
                "Your trial ends on {trial_ends_on}.",
            ),
            "label_plan": "Plan",
            "label_trial_ends_on": "Trial ends on",
            "label_estimate": "First invoice (estimate)",
            "outcome_charge": "After that, your subscription continues on the paid plan and we will charge your "
                              "payment method on file.",
            "outcome_invoice": "After that, your subscription continues on the paid plan and we will send you "
                               "an invoice.",
            "outcome_convert_add": "After that, your subscription continues on the paid plan. Add a payment method "
                                   "before {trial_ends_on} to pay automatically; otherwise we will send you an "
                                   "invoice.",
            "outcome_cancel": "To keep your subscription after the trial, please add a payment method before "
                              "{trial_ends_on}: it then continues on the paid plan. Without a payment method, the "
                              "subscription ends when the trial ends.",
            "outcome_pause": "To keep using the service without interruption, please add a payment method before "
                             "{trial_ends_on}: it then continues on the paid plan. Without a payment method, the "
                             "subscription is paused when the trial ends, until you add one.",
            "cancel_note": "If you do not want to continue, cancel before {trial_ends_on} and you will not be "
                           "charged.",
        },
        EmailKind.PAYMENT_FAILED: {
            "subject": "Payment failed for invoice {number}",
            "heading": "Your payment did not go through",
            "intro": (
                "We tried to collect {amount} for invoice {number} from your {card}, but the payment did not go "
                "through.",
                "We tried to collect {amount} for invoice {number}, but the payment did not go through.",
            ),
            "label_number": "Invoice number",
            "label_amount": "Amount",
            "label_card": "Payment method",
            "label_next_retry": "Next attempt",
            "reason_insufficient_funds": "Your bank declined the payment because the available balance or credit "
                                         "limit was not enough.",
            "reason_limit": "Your bank declined the payment because a spending limit on the card was reached.",
            "reason_processing_error": "An error occurred while your bank was processing the payment. This is "
                                       "usually temporary.",
            "reason_generic": "Your bank declined the payment without telling us why. Your bank can tell you more.",
            "next_retry": (
                "We will try again automatically on {next_retry}. If you would rather use another card, please "
                "update your payment method before then.",
                "We will not try this payment again automatically. Please update your payment method so that we can "
                "collect it.",
            ),
            "button": "Update payment method",
        },
        EmailKind.PAYMENT_ACTION_REQUIRED: {
            "subject": "Please confirm your payment for invoice {number}",
            "heading": "Your bank asks you to confirm a payment",
            "intro": "To pay {amount} for invoice {number}, your bank needs you to confirm the payment. This extra "
                     "check (3-D Secure) protects your card against misuse.",
            "label_number": "Invoice number",
            "label_amount": "Amount",
            "label_card": "Payment method",
            "how": "Follow the link below and approve the payment the way your bank asks, for example in your "
                   "banking app. It only takes a minute.",
            "until": "Until you confirm it, nothing is charged and the invoice remains unpaid.",
            "button": "Confirm payment",
        },
        EmailKind.PAYMENT_METHOD_REQUIRED: {
            "subject": "Please add a new payment method for invoice {number}",
            "subject_reminder": "Reminder: please add a new payment method for invoice {number}",
            "heading": "We need a new payment method",
            "reason_hard_decline": (
                "We could not collect {amount_due} for invoice {number}: your bank declined your {card}, and it "
                "cannot be used for payments any more.",
                "We could not collect {amount_due} for invoice {number}: your bank declined the card, and it cannot "
                "be used for payments any more.",
            ),
            "hard_decline_note": "This can happen for several reasons, for example when a bank replaces or blocks a "
                                 "card. Your bank can tell you more.",
            "reason_no_payment_method": "We could not collect {amount_due} for invoice {number} because there is no "
                                        "payment method on file for your account.",
            "reason_expired": (
                "We could not collect {amount_due} for invoice {number} because your {card} has expired.",
                "We could not collect {amount_due} for invoice {number} because the card on file has expired.",
            ),
            "ask": "Please add a new payment method. We will then charge the invoice straight away.",
            "label_number": "Invoice number",
            "label_amount_due": "Amount due",
            "button": "Add payment method",
        },
        EmailKind.INVOICE_OVERDUE: {
            "subject": "Reminder: invoice {number} is overdue",
            "subject_second": "Second reminder: invoice {number} is overdue",
            "subject_later": "Reminder: invoice {number} is still unpaid",
            "subject_final": "Final reminder: invoice {number} is overdue",
            "heading": "Invoice {number} is overdue",
            "heading_final": "Final reminder for invoice {number}",
            "intro": "This is a friendly reminder that invoice {number} for {amount_due} was due on {due_date}, and "
                     "we have not received your payment yet. Perhaps it slipped through: we would appreciate it if "
                     "you could pay it soon.",
            "intro_repeat": "We have already reminded you of invoice {number}, which was due on {due_date}, but we "
                            "still have not received {amount_due}. Please pay the invoice now.",
            "intro_final": "This is our final reminder: invoice {number} was due on {due_date} and {amount_due} is "
                           "still unpaid. Please pay it now.",
            "consequence_cancel": "If the invoice remains unpaid, we will cancel your subscription.",
            "consequence_mark_unpaid": "If the invoice remains unpaid, we will stop your subscription until it is "
                                       "paid.",
            "label_number": "Invoice number",
            "label_amount_due": "Amount due",
            "label_due_date": "Due date",
            "label_days_overdue": "Days overdue",
            "how_to_pay": "How to pay",
            "label_beneficiary": "Account holder",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Payment reference",
            "pay_by_transfer": (
                "Please transfer {amount_due} to IBAN {iban}, quoting payment reference {reference}.",
                "Please pay {amount_due}, quoting payment reference {reference}.",
            ),
            "attached": "The invoice is attached again as a PDF.",
            "already_paid": "Have you already paid? Thank you, and please disregard this reminder: a transfer can "
                            "take a few business days to reach us.",
        },
        EmailKind.CARD_EXPIRING: {
            "subject": "Your card on file expires at the end of {expires}",
            "heading": "Your card expires soon",
            "intro": (
                "The card on file for your account, {card}, expires at the end of {expires}.",
                "The card on file for your account expires at the end of {expires}.",
            ),
            "label_card": "Card",
            "label_expires": "Valid through",
            "ask": "To avoid a failed payment, please add your new card details before then.",
            "new_card_note": "If your bank has already sent you a new card, please enter its details anyway.",
            "button": "Update payment method",
        },
        EmailKind.DUNNING_FINAL: {
            "subject_cancel": "Your subscription has been canceled because invoice {number} is unpaid",
            "subject_mark_unpaid": "Your subscription has been stopped because invoice {number} is unpaid",
            "subject_suspend": "Your access has been suspended because invoice {number} is unpaid",
            "subject_leave_past_due": "Last reminder: invoice {number} is still unpaid",
            "heading_cancel": "Your subscription has been canceled",
            "heading_mark_unpaid": "Your subscription has been stopped",
            "heading_suspend": "Your access has been suspended",
            "heading_leave_past_due": "Invoice {number} is still unpaid",
            "intro_cancel": (
                "Despite our reminders, invoice {number} remains unpaid. We have therefore canceled your {plan} "
                "subscription.",
                "Despite our reminders, invoice {number} remains unpaid. We have therefore canceled your "
                "subscription.",
            ),
            "intro_mark_unpaid": (
                "Despite our reminders, invoice {number} remains unpaid. We have therefore stopped your {plan} "
                "subscription until the invoice is paid.",
                "Despite our reminders, invoice {number} remains unpaid. We have therefore stopped your "
                "subscription until the invoice is paid.",
            ),
            "intro_suspend": (
                "Invoice {number} is still unpaid. We have therefore suspended your access to your {plan} "
                "subscription until the invoice is paid.",
                "Invoice {number} is still unpaid. We have therefore suspended your access to the service until the "
                "invoice is paid.",
            ),
            "intro_leave_past_due": (
                "This is our last reminder about invoice {number}, which was due on {due_date}: we still have not "
                "received your payment.",
                "This is our last reminder about invoice {number}: we still have not received your payment.",
            ),
            "owed": "{amount_due} is still owed for invoice {number}. Please pay it as soon as possible.",
            "restore_mark_unpaid": "As soon as the invoice is paid, your subscription becomes active again.",
            "restore_suspend": "As soon as the invoice is paid, your access is restored.",
            "after_cancel": "Would you like to keep using the service? Please get in touch with us.",
            "label_number": "Invoice number",
            "label_amount_due": "Amount due",
            "label_due_date": "Due date",
            "pay_by_card": "We will not try your current payment method again. Add a working payment method and we "
                           "will charge {amount_due} straight away.",
            "button": "Add payment method",
            "how_to_pay": "How to pay",
            "label_beneficiary": "Account holder",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Payment reference",
            "pay_by_transfer": (
                "Please transfer {amount_due} to IBAN {iban}, quoting payment reference {reference}.",
                "Please pay {amount_due}, quoting payment reference {reference}.",
            ),
            "already_paid": "Have you paid in the meantime? Thank you, and please disregard this e-mail.",
        },
    },
    "nl": {
        "common": {
            "greeting": "Beste {customer_name},",
            "signoff": "Met vriendelijke groet,",
            "questions": "Vragen? Beantwoord deze e-mail of schrijf naar {reply_to}.",
            "why_received": ("U ontvangt deze e-mail omdat u klant bent van {entity_name}.",),
            "vat_id": "Btw-id {entity_vat_id}",
            "button_fallback": "Werkt de knop niet? Kopieer dan dit adres naar uw browser:",
            "link_valid": "Voor uw veiligheid is deze link {link_days} dagen geldig.",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Factuur {number} van {entity_name}",
            "heading": "Uw factuur {number}",
            "intro": "Hartelijk dank voor uw vertrouwen. In de bijlage vindt u factuur {number} van {total} "
                     "als pdf.",
            "label_number": "Factuurnummer",
            "label_total": "Totaal",
            "label_amount_due": "Te betalen",
            "label_due_date": "Vervaldatum",
            "how_to_pay": "Zo betaalt u",
            "label_beneficiary": "Ten name van",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalingskenmerk",
            "pay_by_transfer": (
                "Maak {amount_due} uiterlijk {due_date} over naar IBAN {iban}, onder vermelding van "
                "betalingskenmerk {reference}.",
                "Maak {amount_due} over naar IBAN {iban}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due} uiterlijk {due_date}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due}, onder vermelding van betalingskenmerk {reference}.",
            ),
            "pay_automatically": (
                "Wij schrijven {amount_due} op {due_date} af van uw geregistreerde betaalmethode. "
                "U hoeft niets te doen.",
                "Wij schrijven {amount_due} af van uw geregistreerde betaalmethode. U hoeft niets te doen.",
            ),
            "nothing_due": "U hoeft voor deze factuur niets te betalen.",
            "already_paid": "Deze factuur is al betaald. Hartelijk dank!",
            "credit_used": "Er is {credit_applied} van uw tegoed met deze factuur verrekend.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Creditnota {number} voor factuur {invoice_number}",
            "heading": "Creditnota {number}",
            "intro": "Wij hebben creditnota {number} van {total} opgesteld als correctie op factuur "
                     "{invoice_number}. U vindt de creditnota als pdf in de bijlage.",
            "label_number": "Creditnotanummer",
            "label_invoice": "Correctie op factuur",
            "label_total": "Gecrediteerd bedrag",
            "what_happens": "Wat er met het bedrag gebeurt",
            "pre_payment": "{pre_payment} wordt in mindering gebracht op wat u nog verschuldigd bent op factuur "
                           "{invoice_number}.",
            "invoice_remaining": (
                "Op factuur {invoice_number} staat nog {invoice_amount_due} open.",
                "Op factuur {invoice_number} staat niets meer open.",
            ),
            "refund": "Wij betalen {refund} aan u terug. Afhankelijk van uw bank kan het enkele werkdagen duren "
                      "voordat het bedrag is bijgeschreven.",
            "credit": "{credit} blijft als tegoed op uw account staan en wordt verrekend met uw volgende facturen.",
            "out_of_band": "{out_of_band} is apart met u verrekend.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Betaling ontvangen voor factuur {number}",
            "heading": "Bedankt voor uw betaling",
            "intro": "Wij hebben op {paid_on} uw betaling van {amount} voor factuur {number} ontvangen.",
            "label_number": "Factuurnummer",
            "label_amount": "Ontvangen bedrag",
            "label_paid_on": "Ontvangen op",
            "label_remaining": "Nog te betalen",
            "remaining": "Op deze factuur staat nog {remaining} open.",
            "paid_in_full": "De factuur is nu volledig betaald.",
            "keep_as_receipt": "Bewaar deze e-mail als betalingsbewijs.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Uw abonnement {plan} wordt verlengd op {renews_on}",
                "Uw abonnement wordt verlengd op {renews_on}",
            ),
            "heading": "Uw abonnement wordt binnenkort verlengd",
            "intro": (
                "Uw abonnement {plan} wordt op {renews_on} automatisch verlengd.",
                "Uw abonnement wordt op {renews_on} automatisch verlengd.",
            ),
            "label_plan": "Abonnement",
            "label_renews_on": "Verlengd op",
            "label_estimate": "Volgende factuur (schatting)",
            "estimate": "Uw volgende factuur bedraagt naar verwachting ongeveer {estimate}, op basis van uw huidige "
                        "abonnement en uw gebruik tot nu toe.",
            "renewal_charge": "Op die dag schrijven wij het bedrag af van uw geregistreerde betaalmethode.",
            "renewal_invoice": "Op die dag sturen wij u de factuur.",
            "change_note": "U hoeft niets te doen om door te gaan. Wilt u uw abonnement wijzigen of opzeggen, doe "
                           "dat dan vóór {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Uw proefperiode eindigt op {trial_ends_on}",
            "heading": "Uw proefperiode loopt bijna af",
            "intro": (
                "Uw proefperiode voor {plan} eindigt op {trial_ends_on}.",
                "Uw proefperiode eindigt op {trial_ends_on}.",
            ),
            "label_plan": "Abonnement",
            "label_trial_ends_on": "Proefperiode eindigt op",
            "label_estimate": "Eerste factuur (schatting)",
            "outcome_charge": "Daarna loopt uw abonnement door als betaald abonnement en schrijven wij het bedrag "
                              "af van uw geregistreerde betaalmethode.",
            "outcome_invoice": "Daarna loopt uw abonnement door als betaald abonnement en sturen wij u een factuur.",
            "outcome_convert_add": "Daarna loopt uw abonnement door als betaald abonnement. Voeg vóór "
                                   "{trial_ends_on} een betaalmethode toe om automatisch te betalen; anders sturen "
                                   "wij u een factuur.",
            "outcome_cancel": "Wilt u uw abonnement na de proefperiode behouden? Voeg dan vóór {trial_ends_on} een "
                              "betaalmethode toe: het loopt dan door als betaald abonnement. Zonder betaalmethode "
                              "eindigt het abonnement wanneer de proefperiode afloopt.",
            "outcome_pause": "Voeg vóór {trial_ends_on} een betaalmethode toe om de dienst zonder onderbreking te "
                             "blijven gebruiken: uw abonnement loopt dan door als betaald abonnement. Zonder "
                             "betaalmethode wordt het abonnement na de proefperiode gepauzeerd, totdat u er een "
                             "toevoegt.",
            "cancel_note": "Wilt u niet doorgaan? Zeg dan vóór {trial_ends_on} op; er worden dan geen kosten in "
                           "rekening gebracht.",
        },
        EmailKind.PAYMENT_FAILED: {
            "subject": "Betaling van factuur {number} mislukt",
            "heading": "Uw betaling is niet gelukt",
            "intro": (
                "Wij hebben geprobeerd {amount} voor factuur {number} af te schrijven van uw {card}, maar de betaling "
                "is niet gelukt.",
                "Wij hebben geprobeerd {amount} voor factuur {number} af te schrijven, maar de betaling is niet "
                "gelukt.",
            ),
            "label_number": "Factuurnummer",
            "label_amount": "Bedrag",
            "label_card": "Betaalmethode",
            "label_next_retry": "Volgende poging",
            "reason_insufficient_funds": "Uw bank heeft de betaling geweigerd omdat het beschikbare saldo of de "
                                         "kredietlimiet niet toereikend was.",
            "reason_limit": "Uw bank heeft de betaling geweigerd omdat een bestedingslimiet van de kaart is bereikt.",
            "reason_processing_error": "Bij het verwerken van de betaling door uw bank is een fout opgetreden. Dat is "
                                       "meestal tijdelijk.",
            "reason_generic": "Uw bank heeft de betaling geweigerd zonder ons de reden te laten weten. Uw bank kan u "
                              "daar meer over vertellen.",
            "next_retry": (
                "Wij proberen het op {next_retry} automatisch opnieuw. Wilt u liever een andere kaart gebruiken? Werk "
                "dan vóór die datum uw betaalmethode bij.",
                "Wij proberen deze betaling niet automatisch opnieuw. Werk uw betaalmethode bij, zodat wij het bedrag "
                "kunnen afschrijven.",
            ),
            "button": "Betaalmethode bijwerken",
        },
        EmailKind.PAYMENT_ACTION_REQUIRED: {
            "subject": "Bevestig uw betaling voor factuur {number}",
            "heading": "Uw bank vraagt u een betaling te bevestigen",
            "intro": "Om {amount} voor factuur {number} te betalen, vraagt uw bank u de betaling te bevestigen. Deze "
                     "extra controle (3-D Secure) beschermt uw kaart tegen misbruik.",
            "label_number": "Factuurnummer",
            "label_amount": "Bedrag",
            "label_card": "Betaalmethode",
            "how": "Volg de link hieronder en keur de betaling goed zoals uw bank dat vraagt, bijvoorbeeld in uw "
                   "bankapp. Het kost maar een minuutje.",
            "until": "Zolang u de betaling niet bevestigt, wordt er niets afgeschreven en blijft de factuur openstaan.",
            "button": "Betaling bevestigen",
        },
        EmailKind.PAYMENT_METHOD_REQUIRED: {
            "subject": "Voeg een nieuwe betaalmethode toe voor factuur {number}",
            "subject_reminder": "Herinnering: voeg een nieuwe betaalmethode toe voor factuur {number}",
            "heading": "Wij hebben een nieuwe betaalmethode nodig",
            "reason_hard_decline": (
                "Wij konden {amount_due} voor factuur {number} niet afschrijven: uw bank heeft uw {card} geweigerd en "
                "deze kan niet meer voor betalingen worden gebruikt.",
                "Wij konden {amount_due} voor factuur {number} niet afschrijven: uw bank heeft de kaart geweigerd en "
                "deze kan niet meer voor betalingen worden gebruikt.",
            ),
            "hard_decline_note": "Dat kan verschillende oorzaken hebben, bijvoorbeeld wanneer een bank een kaart "
                                 "vervangt of blokkeert. Uw bank kan u daar meer over vertellen.",
            "reason_no_payment_method": "Wij konden {amount_due} voor factuur {number} niet afschrijven, omdat er "
                                        "voor uw account geen betaalmethode is geregistreerd.",
            "reason_expired": (
                "Wij konden {amount_due} voor factuur {number} niet afschrijven, omdat uw {card} is verlopen.",
                "Wij konden {amount_due} voor factuur {number} niet afschrijven, omdat de geregistreerde kaart is "
                "verlopen.",
            ),
            "ask": "Voeg een nieuwe betaalmethode toe. Wij schrijven het factuurbedrag dan direct af.",
            "label_number": "Factuurnummer",
            "label_amount_due": "Te betalen",
            "button": "Betaalmethode toevoegen",
        },
        EmailKind.INVOICE_OVERDUE: {
            "subject": "Herinnering: factuur {number} is vervallen",
            "subject_second": "Tweede herinnering: factuur {number} is vervallen",
            "subject_later": "Herinnering: factuur {number} is nog niet betaald",
            "subject_final": "Laatste herinnering: factuur {number} is vervallen",
            "heading": "Factuur {number} is vervallen",
            "heading_final": "Laatste herinnering voor factuur {number}",
            "intro": "Volgens onze administratie hebben wij de betaling van factuur {number} van {amount_due}, met "
                     "vervaldatum {due_date}, nog niet ontvangen. Mogelijk is deze aan uw aandacht ontsnapt. Wij "
                     "verzoeken u vriendelijk het bedrag binnenkort te voldoen.",
            "intro_repeat": "Wij hebben u eerder herinnerd aan factuur {number}, met vervaldatum {due_date}, maar "
                            "wij hebben {amount_due} nog steeds niet ontvangen. Wij verzoeken u de factuur nu te "
                            "betalen.",
            "intro_final": "Dit is onze laatste herinnering: factuur {number} is op {due_date} vervallen en "
                           "{amount_due} staat nog open. Wij verzoeken u het bedrag nu te betalen.",
            "consequence_cancel": "Blijft de factuur onbetaald, dan beëindigen wij uw abonnement.",
            "consequence_mark_unpaid": "Blijft de factuur onbetaald, dan zetten wij uw abonnement stop totdat de "
                                       "factuur is betaald.",
            "label_number": "Factuurnummer",
            "label_amount_due": "Te betalen",
            "label_due_date": "Vervaldatum",
            "label_days_overdue": "Dagen te laat",
            "how_to_pay": "Zo betaalt u",
            "label_beneficiary": "Ten name van",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalingskenmerk",
            "pay_by_transfer": (
                "Maak {amount_due} over naar IBAN {iban}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due}, onder vermelding van betalingskenmerk {reference}.",
            ),
            "attached": "U vindt de factuur nogmaals als pdf in de bijlage.",
            "already_paid": "Heeft u al betaald? Dan danken wij u hartelijk en kunt u deze herinnering als niet "
                            "verzonden beschouwen: een overboeking kan enkele werkdagen onderweg zijn.",
        },
        EmailKind.CARD_EXPIRING: {
            "subject": "Uw geregistreerde kaart verloopt eind {expires}",
            "heading": "Uw kaart verloopt binnenkort",
            "intro": (
                "De kaart die voor uw account is geregistreerd, uw {card}, verloopt eind {expires}.",
                "De kaart die voor uw account is geregistreerd, verloopt eind {expires}.",
            ),
            "label_card": "Kaart",
            "label_expires": "Geldig tot en met",
            "ask": "Voeg vóór die tijd de gegevens van uw nieuwe kaart toe, zodat uw betalingen gewoon doorgaan.",
            "new_card_note": "Heeft u van uw bank al een nieuwe kaart ontvangen? Voer de gegevens daarvan dan toch "
                             "in.",
            "button": "Betaalmethode bijwerken",
        },
        EmailKind.DUNNING_FINAL: {
            "subject_cancel": "Uw abonnement is beëindigd omdat factuur {number} onbetaald is",
            "subject_mark_unpaid": "Uw abonnement is stopgezet omdat factuur {number} onbetaald is",
            "subject_suspend": "Uw toegang is opgeschort omdat factuur {number} onbetaald is",
            "subject_leave_past_due": "Laatste herinnering: factuur {number} is nog niet betaald",
            "heading_cancel": "Uw abonnement is beëindigd",
            "heading_mark_unpaid": "Uw abonnement is stopgezet",
            "heading_suspend": "Uw toegang is opgeschort",
            "heading_leave_past_due": "Factuur {number} is nog niet betaald",
            "intro_cancel": (
                "Ondanks onze herinneringen is factuur {number} nog steeds niet betaald. Daarom hebben wij uw "
                "abonnement {plan} beëindigd.",
                "Ondanks onze herinneringen is factuur {number} nog steeds niet betaald. Daarom hebben wij uw "
                "abonnement beëindigd.",
            ),
            "intro_mark_unpaid": (
                "Ondanks onze herinneringen is factuur {number} nog steeds niet betaald. Daarom hebben wij uw "
                "abonnement {plan} stopgezet totdat de factuur is betaald.",
                "Ondanks onze herinneringen is factuur {number} nog steeds niet betaald. Daarom hebben wij uw "
                "abonnement stopgezet totdat de factuur is betaald.",
            ),
            "intro_suspend": (
                "Factuur {number} is nog steeds niet betaald. Daarom hebben wij uw toegang tot uw abonnement {plan} "
                "opgeschort totdat de factuur is betaald.",
                "Factuur {number} is nog steeds niet betaald. Daarom hebben wij uw toegang tot de dienst opgeschort "
                "totdat de factuur is betaald.",
            ),
            "intro_leave_past_due": (
                "Dit is onze laatste herinnering voor factuur {number}, met vervaldatum {due_date}: wij hebben uw "
                "betaling nog steeds niet ontvangen.",
                "Dit is onze laatste herinnering voor factuur {number}: wij hebben uw betaling nog steeds niet "
                "ontvangen.",
            ),
            "owed": "Op factuur {number} staat nog {amount_due} open. Wij verzoeken u dit bedrag zo spoedig mogelijk "
                    "te betalen.",
            "restore_mark_unpaid": "Zodra de factuur is betaald, wordt uw abonnement weer actief.",
            "restore_suspend": "Zodra de factuur is betaald, krijgt u weer toegang.",
            "after_cancel": "Wilt u de dienst blijven gebruiken? Neem dan contact met ons op.",
            "label_number": "Factuurnummer",
            "label_amount_due": "Te betalen",
            "label_due_date": "Vervaldatum",
            "pay_by_card": "Wij proberen uw huidige betaalmethode niet opnieuw. Voeg een werkende betaalmethode toe, "
                           "dan schrijven wij {amount_due} direct af.",
            "button": "Betaalmethode toevoegen",
            "how_to_pay": "Zo betaalt u",
            "label_beneficiary": "Ten name van",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalingskenmerk",
            "pay_by_transfer": (
                "Maak {amount_due} over naar IBAN {iban}, onder vermelding van betalingskenmerk {reference}.",
                "Betaal {amount_due}, onder vermelding van betalingskenmerk {reference}.",
            ),
            "already_paid": "Heeft u inmiddels betaald? Dan danken wij u hartelijk en kunt u deze e-mail als niet "
                            "verzonden beschouwen.",
        },
    },
    "sv": {
        "common": {
            "greeting": "Hej {customer_name},",
            "signoff": "Vänliga hälsningar,",
            "questions": "Frågor? Svara på det här mejlet eller skriv till {reply_to}.",
            "why_received": ("Du får det här mejlet eftersom du är kund hos {entity_name}.",),
            "vat_id": "Momsreg.nr {entity_vat_id}",
            "button_fallback": "Fungerar inte knappen? Kopiera då den här adressen till din webbläsare:",
            "link_valid": "Av säkerhetsskäl fungerar länken i {link_days} dagar.",
        },
        EmailKind.INVOICE_ISSUED: {
            "subject": "Faktura {number} från {entity_name}",
            "heading": "Din faktura {number}",
            "intro": "Tack för att du är kund hos oss. Faktura {number} på {total} finns bifogad som pdf.",
            "label_number": "Fakturanummer",
            "label_total": "Totalt",
            "label_amount_due": "Att betala",
            "label_due_date": "Förfallodatum",
            "how_to_pay": "Så betalar du",
            "label_beneficiary": "Mottagare",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalningsreferens",
            "pay_by_transfer": (
                "Betala {amount_due} senast {due_date} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} senast {due_date} och ange betalningsreferens {reference}.",
                "Betala {amount_due} och ange betalningsreferens {reference}.",
            ),
            "pay_automatically": (
                "{amount_due} dras från din registrerade betalningsmetod den {due_date}. Du behöver inte göra något.",
                "{amount_due} dras från din registrerade betalningsmetod. Du behöver inte göra något.",
            ),
            "nothing_due": "Du behöver inte betala något för den här fakturan.",
            "already_paid": "Den här fakturan är redan betald. Tack!",
            "credit_used": "{credit_applied} av ditt tillgodohavande har dragits av på den här fakturan.",
        },
        EmailKind.CREDIT_NOTE_ISSUED: {
            "subject": "Kreditfaktura {number} för faktura {invoice_number}",
            "heading": "Kreditfaktura {number}",
            "intro": "Vi har utfärdat kreditfaktura {number} på {total}, som rättar faktura {invoice_number}. "
                     "Kreditfakturan finns bifogad som pdf.",
            "label_number": "Kreditfakturanummer",
            "label_invoice": "Avser faktura",
            "label_total": "Krediterat belopp",
            "what_happens": "Vad som händer med beloppet",
            "pre_payment": "{pre_payment} dras av från det du är skyldig på faktura {invoice_number}.",
            "invoice_remaining": (
                "Kvar att betala på faktura {invoice_number}: {invoice_amount_due}.",
                "Det finns inget kvar att betala på faktura {invoice_number}.",
            ),
            "refund": "Vi betalar tillbaka {refund} till dig. Beroende på din bank kan det ta några bankdagar "
                      "innan pengarna syns på kontot.",
            "credit": "{credit} sparas som tillgodohavande på ditt konto och dras av från dina kommande fakturor.",
            "out_of_band": "{out_of_band} har reglerats med dig separat.",
        },
        EmailKind.PAYMENT_RECEIPT: {
            "subject": "Betalning mottagen för faktura {number}",
            "heading": "Tack för din betalning",
            "intro": "Vi har tagit emot din betalning på {amount} för faktura {number} den {paid_on}.",
            "label_number": "Fakturanummer",
            "label_amount": "Mottaget belopp",
            "label_paid_on": "Mottaget den",
            "label_remaining": "Kvar att betala",
            "remaining": "Det återstår {remaining} att betala på fakturan.",
            "paid_in_full": "Fakturan är nu betald i sin helhet.",
            "keep_as_receipt": "Spara det här mejlet som kvitto.",
        },
        EmailKind.UPCOMING_RENEWAL: {
            "subject": (
                "Ditt abonnemang {plan} förnyas den {renews_on}",
                "Ditt abonnemang förnyas den {renews_on}",
            ),
            "heading": "Ditt abonnemang förnyas snart",
            "intro": (
                "Ditt abonnemang {plan} förnyas automatiskt den {renews_on}.",
                "Ditt abonnemang förnyas automatiskt den {renews_on}.",
            ),
            "label_plan": "Abonnemang",
            "label_renews_on": "Förnyas den",
            "label_estimate": "Nästa faktura (uppskattning)",
            "estimate": "Din nästa faktura blir ungefär {estimate}, baserat på ditt nuvarande abonnemang och din "
                        "användning hittills.",
            "renewal_charge": "Samma dag drar vi beloppet från din registrerade betalningsmetod.",
            "renewal_invoice": "Samma dag skickar vi fakturan till dig.",
            "change_note": "Du behöver inte göra något för att fortsätta. Vill du ändra eller säga upp "
                           "abonnemanget behöver du göra det före den {renews_on}.",
        },
        EmailKind.TRIAL_ENDING: {
            "subject": "Din provperiod slutar den {trial_ends_on}",
            "heading": "Din provperiod tar snart slut",
            "intro": (
                "Din provperiod för {plan} slutar den {trial_ends_on}.",
                "Din provperiod slutar den {trial_ends_on}.",
            ),
            "label_plan": "Abonnemang",
            "label_trial_ends_on": "Provperioden slutar",
            "label_estimate": "Första fakturan (uppskattning)",
            "outcome_charge": "Därefter fortsätter abonnemanget som ett betalt abonnemang och vi drar beloppet från "
                              "din registrerade betalningsmetod.",
            "outcome_invoice": "Därefter fortsätter abonnemanget som ett betalt abonnemang och vi skickar en "
                               "faktura till dig.",
            "outcome_convert_add": "Därefter fortsätter abonnemanget som ett betalt abonnemang. Lägg till en "
                                   "betalningsmetod före den {trial_ends_on} för att betala automatiskt; annars "
                                   "skickar vi en faktura till dig.",
            "outcome_cancel": "Vill du behålla abonnemanget efter provperioden? Lägg då till en betalningsmetod före "
                              "den {trial_ends_on}, så fortsätter det som ett betalt abonnemang. Utan "
                              "betalningsmetod avslutas abonnemanget när provperioden tar slut.",
            "outcome_pause": "Lägg till en betalningsmetod före den {trial_ends_on} för att kunna fortsätta använda "
                             "tjänsten utan avbrott; abonnemanget fortsätter då som ett betalt abonnemang. Utan "
                             "betalningsmetod pausas abonnemanget när provperioden tar slut, tills du lägger till "
                             "en.",
            "cancel_note": "Om du inte vill fortsätta kan du säga upp abonnemanget före den {trial_ends_on}, så "
                           "debiteras du ingenting.",
        },
        EmailKind.PAYMENT_FAILED: {
            "subject": "Betalningen för faktura {number} misslyckades",
            "heading": "Din betalning gick inte igenom",
            "intro": (
                "Vi försökte dra {amount} för faktura {number} från ditt kort {card}, men betalningen gick inte "
                "igenom.",
                "Vi försökte dra {amount} för faktura {number}, men betalningen gick inte igenom.",
            ),
            "label_number": "Fakturanummer",
            "label_amount": "Belopp",
            "label_card": "Betalningsmetod",
            "label_next_retry": "Nästa försök",
            "reason_insufficient_funds": "Din bank nekade betalningen eftersom det tillgängliga saldot eller "
                                         "kreditutrymmet inte räckte.",
            "reason_limit": "Din bank nekade betalningen eftersom en beloppsgräns för kortet har nåtts.",
            "reason_processing_error": "Ett fel uppstod när din bank behandlade betalningen. Det är oftast "
                                       "tillfälligt.",
            "reason_generic": "Din bank nekade betalningen utan att ange något skäl till oss. Din bank kan berätta "
                              "mer.",
            "next_retry": (
                "Vi gör ett nytt försök automatiskt den {next_retry}. Vill du hellre använda ett annat kort kan du "
                "uppdatera din betalningsmetod innan dess.",
                "Vi kommer inte att göra något nytt försök automatiskt. Uppdatera din betalningsmetod så att vi kan "
                "dra beloppet.",
            ),
            "button": "Uppdatera betalningsmetod",
        },
        EmailKind.PAYMENT_ACTION_REQUIRED: {
            "subject": "Bekräfta din betalning för faktura {number}",
            "heading": "Din bank ber dig bekräfta en betalning",
            "intro": "För att betala {amount} för faktura {number} behöver du bekräfta betalningen hos din bank. Den "
                     "extra kontrollen (3-D Secure) skyddar ditt kort mot missbruk.",
            "label_number": "Fakturanummer",
            "label_amount": "Belopp",
            "label_card": "Betalningsmetod",
            "how": "Följ länken nedan och godkänn betalningen på det sätt som din bank ber om, till exempel i "
                   "bankens app. Det tar bara en minut.",
            "until": "Tills du har bekräftat betalningen dras inget belopp och fakturan förblir obetald.",
            "button": "Bekräfta betalningen",
        },
        EmailKind.PAYMENT_METHOD_REQUIRED: {
            "subject": "Lägg till en ny betalningsmetod för faktura {number}",
            "subject_reminder": "Påminnelse: lägg till en ny betalningsmetod för faktura {number}",
            "heading": "Vi behöver en ny betalningsmetod",
            "reason_hard_decline": (
                "Vi kunde inte dra {amount_due} för faktura {number}: din bank nekade ditt kort {card}, och det kan "
                "inte längre användas för betalningar.",
                "Vi kunde inte dra {amount_due} för faktura {number}: din bank nekade kortet, och det kan inte "
                "längre användas för betalningar.",
            ),
            "hard_decline_note": "Det kan bero på flera saker, till exempel att banken har bytt ut eller spärrat "
                                 "kortet. Din bank kan berätta mer.",
            "reason_no_payment_method": "Vi kunde inte dra {amount_due} för faktura {number} eftersom det inte finns "
                                        "någon betalningsmetod registrerad för ditt konto.",
            "reason_expired": (
                "Vi kunde inte dra {amount_due} för faktura {number} eftersom ditt kort {card} har gått ut.",
                "Vi kunde inte dra {amount_due} för faktura {number} eftersom det registrerade kortet har gått ut.",
            ),
            "ask": "Lägg till en ny betalningsmetod, så drar vi fakturabeloppet direkt.",
            "label_number": "Fakturanummer",
            "label_amount_due": "Att betala",
            "button": "Lägg till betalningsmetod",
        },
        EmailKind.INVOICE_OVERDUE: {
            "subject": "Påminnelse: faktura {number} har förfallit",
            "subject_second": "Andra påminnelsen: faktura {number} har förfallit",
            "subject_later": "Påminnelse: faktura {number} är fortfarande obetald",
            "subject_final": "Sista påminnelse: faktura {number} har förfallit",
            "heading": "Faktura {number} har förfallit",
            "heading_final": "Sista påminnelse om faktura {number}",
            "intro": "Enligt våra noteringar har vi ännu inte fått betalt för faktura {number} på {amount_due}, som "
                     "förföll den {due_date}. Den har kanske blivit förbisedd – vi ber dig vänligen att betala så "
                     "snart som möjligt.",
            "intro_repeat": "Vi har tidigare påmint dig om faktura {number}, som förföll den {due_date}, men vi har "
                            "fortfarande inte fått {amount_due}. Vi ber dig betala fakturan nu.",
            "intro_final": "Det här är vår sista påminnelse: faktura {number} förföll den {due_date} och {amount_due} "
                           "är fortfarande obetalt. Vi ber dig betala nu.",
            "consequence_cancel": "Om fakturan förblir obetald avslutar vi ditt abonnemang.",
            "consequence_mark_unpaid": "Om fakturan förblir obetald stoppar vi ditt abonnemang tills den är betald.",
            "label_number": "Fakturanummer",
            "label_amount_due": "Att betala",
            "label_due_date": "Förfallodatum",
            "label_days_overdue": "Dagar efter förfallodatum",
            "how_to_pay": "Så betalar du",
            "label_beneficiary": "Mottagare",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalningsreferens",
            "pay_by_transfer": (
                "Betala {amount_due} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} och ange betalningsreferens {reference}.",
            ),
            "attached": "Fakturan finns bifogad igen som pdf.",
            "already_paid": "Har du redan betalat? Tack, och bortse i så fall från den här påminnelsen: en "
                            "överföring kan ta några bankdagar innan den når oss.",
        },
        EmailKind.CARD_EXPIRING: {
            "subject": "Ditt registrerade kort går ut i slutet av {expires}",
            "heading": "Ditt kort går snart ut",
            "intro": (
                "Kortet som är registrerat för ditt konto, {card}, går ut i slutet av {expires}.",
                "Kortet som är registrerat för ditt konto går ut i slutet av {expires}.",
            ),
            "label_card": "Kort",
            "label_expires": "Giltigt till och med",
            "ask": "Lägg till uppgifterna för ditt nya kort innan dess, så att dina betalningar fortsätter som "
                   "vanligt.",
            "new_card_note": "Har du redan fått ett nytt kort från din bank? Ange ändå uppgifterna för det nya kortet.",
            "button": "Uppdatera betalningsmetod",
        },
        EmailKind.DUNNING_FINAL: {
            "subject_cancel": "Ditt abonnemang har avslutats eftersom faktura {number} är obetald",
            "subject_mark_unpaid": "Ditt abonnemang har stoppats eftersom faktura {number} är obetald",
            "subject_suspend": "Din åtkomst har stängts av eftersom faktura {number} är obetald",
            "subject_leave_past_due": "Sista påminnelse: faktura {number} är fortfarande obetald",
            "heading_cancel": "Ditt abonnemang har avslutats",
            "heading_mark_unpaid": "Ditt abonnemang har stoppats",
            "heading_suspend": "Din åtkomst har stängts av",
            "heading_leave_past_due": "Faktura {number} är fortfarande obetald",
            "intro_cancel": (
                "Trots våra påminnelser är faktura {number} fortfarande obetald. Vi har därför avslutat ditt "
                "abonnemang {plan}.",
                "Trots våra påminnelser är faktura {number} fortfarande obetald. Vi har därför avslutat ditt "
                "abonnemang.",
            ),
            "intro_mark_unpaid": (
                "Trots våra påminnelser är faktura {number} fortfarande obetald. Vi har därför stoppat ditt "
                "abonnemang {plan} tills fakturan är betald.",
                "Trots våra påminnelser är faktura {number} fortfarande obetald. Vi har därför stoppat ditt "
                "abonnemang tills fakturan är betald.",
            ),
            "intro_suspend": (
                "Faktura {number} är fortfarande obetald. Vi har därför stängt av din åtkomst till abonnemanget "
                "{plan} tills fakturan är betald.",
                "Faktura {number} är fortfarande obetald. Vi har därför stängt av din åtkomst till tjänsten tills "
                "fakturan är betald.",
            ),
            "intro_leave_past_due": (
                "Det här är vår sista påminnelse om faktura {number}, som förföll den {due_date}: vi har fortfarande "
                "inte fått din betalning.",
                "Det här är vår sista påminnelse om faktura {number}: vi har fortfarande inte fått din betalning.",
            ),
            "owed": "Det återstår {amount_due} att betala på faktura {number}. Vi ber dig betala beloppet så snart "
                    "som möjligt.",
            "restore_mark_unpaid": "Så snart fakturan är betald blir ditt abonnemang aktivt igen.",
            "restore_suspend": "Så snart fakturan är betald får du tillbaka din åtkomst.",
            "after_cancel": "Vill du fortsätta använda tjänsten? Hör gärna av dig till oss.",
            "label_number": "Fakturanummer",
            "label_amount_due": "Att betala",
            "label_due_date": "Förfallodatum",
            "pay_by_card": "Vi kommer inte att försöka debitera din nuvarande betalningsmetod igen. Lägg till en "
                           "fungerande betalningsmetod, så drar vi {amount_due} direkt.",
            "button": "Lägg till betalningsmetod",
            "how_to_pay": "Så betalar du",
            "label_beneficiary": "Mottagare",
            "label_iban": "IBAN",
            "label_bic": "BIC",
            "label_reference": "Betalningsreferens",
            "pay_by_transfer": (
                "Betala {amount_due} till IBAN {iban} och ange betalningsreferens {reference}.",
                "Betala {amount_due} och ange betalningsreferens {reference}.",
            ),
            "already_paid": "Har du betalat under tiden? Tack, och bortse i så fall från det här mejlet.",
        },
    },
}
# fmt: on
