"""What a document says in words, in each language the Terms exist in (INV-4's legal
mentions: a reverse charge, a supply not subject to EU VAT; the payment terms). The XML
renderings carry the same words as the PDF: one text per fact and language."""

from __future__ import annotations

from domain.documents import VatCategory
from domain.invoicing import Language

L = Language

# BT-120: the exemption reason, the mention Article 226(11a) and the place-of-supply rules
# of Council Directive 2006/112/EC ask an invoice to carry.
EXEMPTION_REASON: dict[VatCategory, dict[Language, str]] = {
    VatCategory.REVERSE_CHARGE: {
        L.EN: "Reverse charge: VAT is due from the customer (Article 196, Directive 2006/112/EC)",
        L.PL: "Odwrotne obciążenie: VAT rozlicza nabywca (art. 196 dyrektywy 2006/112/WE)",
        L.BG: "Обратно начисляване: ДДС се дължи от получателя (чл. 196 от Директива 2006/112/ЕО)",
        L.NL: (
            "Btw verlegd: de btw is verschuldigd door de afnemer "
            "(artikel 196, Richtlijn 2006/112/EG)"
        ),
        L.SL: "Obrnjena davčna obveznost: DDV obračuna prejemnik (člen 196 Direktive 2006/112/ES)",
    },
    VatCategory.NOT_SUBJECT: {
        L.EN: "Not subject to EU VAT: the customer is established outside the EU",
        L.PL: "Nie podlega VAT w UE: nabywca ma siedzibę poza UE",
        L.BG: "Не подлежи на облагане с ДДС в ЕС: получателят е установен извън ЕС",
        L.NL: "Niet onderworpen aan btw in de EU: de afnemer is buiten de EU gevestigd",
        L.SL: "Ni predmet DDV v EU: prejemnik ima sedež zunaj EU",
    },
}

# BT-20: the ledger bills in advance and charges the payment method on issue (BILL-2, PAY-2).
PAYMENT_TERMS: dict[Language, str] = {
    L.EN: "Charged to the payment method on file on the issue date",
    L.PL: "Płatność pobierana z zapisanej metody płatności w dniu wystawienia",
    L.BG: "Сумата се удържа от записания метод на плащане в деня на издаване",
    L.NL: "Afgeschreven van de opgeslagen betaalmethode op de factuurdatum",
    L.SL: "Bremenitev shranjenega plačilnega sredstva na dan izdaje",
}
