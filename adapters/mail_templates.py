"""The owner's e-mails, one (subject, body) per notification kind, in English and the languages
the Terms exist in. Placeholders are filled with values already formatted for the language
(Babel): {company}, {invoice}, {total}, {plan}, {effective_on}, {seats}, {deletion_on},
{cancellation_on}. A signature is appended by the renderer."""

from __future__ import annotations

from domain.invoicing import Language, NotificationKind

K = NotificationKind

TEMPLATES: dict[Language, dict[NotificationKind, tuple[str, str]]] = {
    Language.EN: {
        K.RECEIPT: (
            "Receipt for invoice {invoice}",
            "Thank you: we received {total} from {company} for invoice {invoice}.",
        ),
        K.PAYMENT_DECLINED: (
            "Payment for invoice {invoice} was declined",
            "We could not collect {total} for invoice {invoice} of {company}. We will try "
            "again; please check the payment method on your account.",
        ),
        K.PRICE_CHANGE: (
            "The price of {plan} changes on {effective_on}",
            "The price of the {plan} plan used by {company} changes on {effective_on}. "
            "The new price applies from your first billing period starting on or after "
            "that date.",
        ),
        K.PACKAGE_EXCEEDED: (
            "{company} now has {seats} seats",
            "{company} now has {seats} seats, more than its package includes. Seats above "
            "the package are billed as the Terms describe.",
        ),
        K.SUSPENDED: (
            "Your account has been suspended",
            "The account of {company} has been suspended. Please contact us to restore it.",
        ),
        K.CANCELLATION_CONFIRMED: (
            "Your cancellation is confirmed",
            "We received the cancellation of the account of {company}. It takes effect on "
            "{cancellation_on}.",
        ),
        K.INACTIVITY_WARNING: (
            "Your account will be deleted for inactivity",
            "The account of {company} has had no activity for four weeks. It will be deleted "
            "with all its data on {deletion_on} unless someone uses it before then: signing "
            "in and working in the help desk is enough.",
        ),
        K.ACCOUNT_DELETED: (
            "Your account has been deleted",
            "The account of {company} has been deleted with its content. Invoices are kept "
            "for as long as the law requires.",
        ),
    },
    Language.PL: {
        K.RECEIPT: (
            "Potwierdzenie zapłaty faktury {invoice}",
            "Dziękujemy: otrzymaliśmy od firmy {company} {total} za fakturę {invoice}.",
        ),
        K.PAYMENT_DECLINED: (
            "Płatność za fakturę {invoice} została odrzucona",
            "Nie udało się pobrać {total} za fakturę {invoice} firmy {company}. Spróbujemy "
            "ponownie; prosimy sprawdzić metodę płatności na koncie.",
        ),
        K.PRICE_CHANGE: (
            "Cena planu {plan} zmienia się {effective_on}",
            "Cena planu {plan} używanego przez {company} zmienia się {effective_on}. Nowa "
            "cena obowiązuje od pierwszego okresu rozliczeniowego rozpoczynającego się w tym "
            "dniu lub później.",
        ),
        K.PACKAGE_EXCEEDED: (
            "{company} ma teraz {seats} stanowisk",
            "{company} ma teraz {seats} stanowisk, więcej niż obejmuje pakiet. Stanowiska "
            "ponad pakiet są rozliczane zgodnie z Regulaminem.",
        ),
        K.SUSPENDED: (
            "Konto zostało zawieszone",
            "Konto firmy {company} zostało zawieszone. Prosimy o kontakt w celu jego przywrócenia.",
        ),
        K.CANCELLATION_CONFIRMED: (
            "Potwierdzamy rezygnację",
            "Otrzymaliśmy rezygnację z konta firmy {company}. Staje się ona skuteczna "
            "{cancellation_on}.",
        ),
        K.INACTIVITY_WARNING: (
            "Konto zostanie usunięte z powodu braku aktywności",
            "Konto firmy {company} nie było używane od czterech tygodni. Zostanie usunięte "
            "wraz ze wszystkimi danymi {deletion_on}, chyba że ktoś wcześniej z niego "
            "skorzysta: wystarczy zalogować się i pracować w systemie.",
        ),
        K.ACCOUNT_DELETED: (
            "Konto zostało usunięte",
            "Konto firmy {company} zostało usunięte wraz z zawartością. Faktury "
            "przechowujemy tak długo, jak wymaga tego prawo.",
        ),
    },
    Language.BG: {
        K.RECEIPT: (
            "Разписка за фактура {invoice}",
            "Благодарим Ви: получихме от {company} {total} по фактура {invoice}.",
        ),
        K.PAYMENT_DECLINED: (
            "Плащането по фактура {invoice} беше отказано",
            "Не успяхме да съберем {total} по фактура {invoice} на {company}. Ще опитаме "
            "отново; моля, проверете начина на плащане в профила си.",
        ),
        K.PRICE_CHANGE: (
            "Цената на {plan} се променя на {effective_on}",
            "Цената на плана {plan}, използван от {company}, се променя на {effective_on}. "
            "Новата цена важи от първия период на плащане, започващ на или след тази дата.",
        ),
        K.PACKAGE_EXCEEDED: (
            "{company} вече има {seats} места",
            "{company} вече има {seats} места, повече от включените в пакета. Местата над "
            "пакета се таксуват според Общите условия.",
        ),
        K.SUSPENDED: (
            "Профилът Ви е спрян",
            "Профилът на {company} е спрян. Моля, свържете се с нас, за да го възстановим.",
        ),
        K.CANCELLATION_CONFIRMED: (
            "Прекратяването е потвърдено",
            "Получихме прекратяването на профила на {company}. То влиза в сила на "
            "{cancellation_on}.",
        ),
        K.INACTIVITY_WARNING: (
            "Профилът Ви ще бъде изтрит поради неактивност",
            "Профилът на {company} не е използван от четири седмици. Той ще бъде изтрит с "
            "всичките си данни на {deletion_on}, освен ако някой не го използва преди това: "
            "достатъчно е да влезете и да работите в системата.",
        ),
        K.ACCOUNT_DELETED: (
            "Профилът Ви е изтрит",
            "Профилът на {company} е изтрит заедно със съдържанието му. Фактурите се пазят "
            "толкова дълго, колкото изисква законът.",
        ),
    },
    Language.NL: {
        K.RECEIPT: (
            "Ontvangstbewijs voor factuur {invoice}",
            "Dank u: we hebben van {company} {total} ontvangen voor factuur {invoice}.",
        ),
        K.PAYMENT_DECLINED: (
            "Betaling voor factuur {invoice} is geweigerd",
            "We konden {total} voor factuur {invoice} van {company} niet innen. We proberen "
            "het opnieuw; controleer de betaalmethode van uw account.",
        ),
        K.PRICE_CHANGE: (
            "De prijs van {plan} wijzigt op {effective_on}",
            "De prijs van het abonnement {plan} dat {company} gebruikt, wijzigt op "
            "{effective_on}. De nieuwe prijs geldt vanaf uw eerste factuurperiode die op of "
            "na die datum begint.",
        ),
        K.PACKAGE_EXCEEDED: (
            "{company} heeft nu {seats} plaatsen",
            "{company} heeft nu {seats} plaatsen, meer dan het pakket omvat. Plaatsen boven "
            "het pakket worden gefactureerd zoals de Voorwaarden beschrijven.",
        ),
        K.SUSPENDED: (
            "Uw account is opgeschort",
            "Het account van {company} is opgeschort. Neem contact met ons op om het te "
            "herstellen.",
        ),
        K.CANCELLATION_CONFIRMED: (
            "Uw opzegging is bevestigd",
            "We hebben de opzegging van het account van {company} ontvangen. Deze gaat in op "
            "{cancellation_on}.",
        ),
        K.INACTIVITY_WARNING: (
            "Uw account wordt verwijderd wegens inactiviteit",
            "Het account van {company} is vier weken niet gebruikt. Het wordt op "
            "{deletion_on} met al zijn gegevens verwijderd, tenzij iemand het daarvoor "
            "gebruikt: inloggen en in de helpdesk werken is genoeg.",
        ),
        K.ACCOUNT_DELETED: (
            "Uw account is verwijderd",
            "Het account van {company} is met zijn inhoud verwijderd. Facturen bewaren we "
            "zo lang als de wet vereist.",
        ),
    },
    Language.SL: {
        K.RECEIPT: (
            "Potrdilo o plačilu računa {invoice}",
            "Hvala: od podjetja {company} smo prejeli {total} za račun {invoice}.",
        ),
        K.PAYMENT_DECLINED: (
            "Plačilo računa {invoice} je bilo zavrnjeno",
            "Zneska {total} za račun {invoice} podjetja {company} nismo mogli pobrati. "
            "Poskusili bomo znova; preverite način plačila v svojem računu.",
        ),
        K.PRICE_CHANGE: (
            "Cena paketa {plan} se spremeni {effective_on}",
            "Cena paketa {plan}, ki ga uporablja {company}, se spremeni {effective_on}. Nova "
            "cena velja od prvega obračunskega obdobja, ki se začne na ta dan ali pozneje.",
        ),
        K.PACKAGE_EXCEEDED: (
            "{company} ima zdaj {seats} mest",
            "{company} ima zdaj {seats} mest, več kot jih vključuje paket. Mesta nad paketom "
            "se zaračunajo, kot določajo Pogoji.",
        ),
        K.SUSPENDED: (
            "Vaš račun je začasno ustavljen",
            "Račun podjetja {company} je začasno ustavljen. Za obnovitev nas prosim kontaktirajte.",
        ),
        K.CANCELLATION_CONFIRMED: (
            "Vaša odpoved je potrjena",
            "Prejeli smo odpoved računa podjetja {company}. Začne veljati {cancellation_on}.",
        ),
        K.INACTIVITY_WARNING: (
            "Vaš račun bo izbrisan zaradi neaktivnosti",
            "Račun podjetja {company} štiri tedne ni bil v uporabi. Izbrisan bo z vsemi "
            "podatki {deletion_on}, razen če ga kdo prej uporabi: dovolj je, da se prijavite "
            "in delate v sistemu.",
        ),
        K.ACCOUNT_DELETED: (
            "Vaš račun je izbrisan",
            "Račun podjetja {company} je izbrisan skupaj z vsebino. Račune hranimo, kolikor "
            "dolgo zahteva zakon.",
        ),
    },
}

SIGNATURE = {
    Language.EN: "— seatledger billing",
    Language.PL: "— dział rozliczeń seatledger",
    Language.BG: "— отдел „Плащания“ на seatledger",
    Language.NL: "— seatledger facturatie",
    Language.SL: "— obračun seatledger",
}

# INV-2: the e-mail that carries a correction, the credit note and the invoice that
# replaces the corrected one (a delivery of documents, not a notification kind).
# Placeholders: {company}, {credit_note}, {invoice}, {replaced}.
CORRECTION: dict[Language, tuple[str, str]] = {
    Language.EN: (
        "Corrected invoice {invoice} replaces {replaced}",
        "As {company} asked, invoice {replaced} was corrected: credit note {credit_note} "
        "reverses it and invoice {invoice} replaces it. Both are attached; what was paid on "
        "{replaced} counts towards {invoice}.",
    ),
    Language.PL: (
        "Skorygowana faktura {invoice} zastępuje {replaced}",
        "Na prośbę firmy {company} faktura {replaced} została skorygowana: faktura "
        "korygująca {credit_note} ją anuluje, a faktura {invoice} ją zastępuje. Obie są w "
        "załączniku; kwota zapłacona za {replaced} zalicza się na poczet {invoice}.",
    ),
    Language.BG: (
        "Коригираната фактура {invoice} заменя {replaced}",
        "По молба на {company} фактура {replaced} беше коригирана: кредитното известие "
        "{credit_note} я сторнира, а фактура {invoice} я заменя. Двете са приложени; "
        "платеното по {replaced} се зачита за {invoice}.",
    ),
    Language.NL: (
        "Gecorrigeerde factuur {invoice} vervangt {replaced}",
        "Op verzoek van {company} is factuur {replaced} gecorrigeerd: creditnota "
        "{credit_note} draait haar terug en factuur {invoice} vervangt haar. Beide zijn "
        "bijgevoegd; wat op {replaced} is betaald, telt voor {invoice}.",
    ),
    Language.SL: (
        "Popravljeni račun {invoice} nadomešča {replaced}",
        "Na željo podjetja {company} je bil račun {replaced} popravljen: dobropis "
        "{credit_note} ga stornira, račun {invoice} pa ga nadomešča. Oba sta priložena; kar "
        "je bilo plačano po {replaced}, se upošteva pri {invoice}.",
    ),
}
