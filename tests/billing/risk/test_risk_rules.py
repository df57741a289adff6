"""Stage-1 rules: each listed pattern is caught; ordinary product copy is not."""

from __future__ import annotations

import pytest

from billing.risk.rules import ReasonCode, Severity, find_rule_hits, luhn_valid


def codes(text: str, terms: tuple[str, ...] = ()) -> set[ReasonCode]:
    return {hit.code for hit in find_rule_hits(text, merchant_terms=terms)}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Our tea cures cancer naturally.", ReasonCode.MEDICAL_CLAIM),
        ("Clinically shown to treat diabetes.", ReasonCode.MEDICAL_CLAIM),
        ("Helps prevent the flu all winter.", ReasonCode.MEDICAL_CLAIM),
        ("A cancer-fighting superfood.", ReasonCode.MEDICAL_CLAIM),
        ("Reverses arthritis in 7 days.", ReasonCode.MEDICAL_CLAIM),
        ("Guaranteed to lose 10 pounds in a week.", ReasonCode.GUARANTEE),
        ("Results guaranteed.", ReasonCode.GUARANTEE),
        ("We guarantee you will see results.", ReasonCode.GUARANTEE),
        ("Earn $500 per day from home.", ReasonCode.FINANCIAL_PROMISE),
        ("Double your money in a month.", ReasonCode.FINANCIAL_PROMISE),
        ("Enjoy 12% monthly returns.", ReasonCode.FINANCIAL_PROMISE),
        ("Guaranteed returns for every member.", ReasonCode.FINANCIAL_PROMISE),
        ("Try it risk-free for 30 days.", ReasonCode.RISK_FREE),
        ("A miracle cure for tired skin.", ReasonCode.MIRACLE_CLAIM),
        ("The only FDA-approved formula.", ReasonCode.CERTIFICATION_CLAIM),
        ("100% safe for babies.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("Approved by FDA for daily use.", ReasonCode.CERTIFICATION_CLAIM),
        ("Lose 20 lbs in two weeks.", ReasonCode.WEIGHT_LOSS_CLAIM),
        ("Slim down without diet or exercise.", ReasonCode.WEIGHT_LOSS_CLAIM),
        ("Blocks the absorption of fat.", ReasonCode.WEIGHT_LOSS_CLAIM),
        ("Clinically proven to reduce wrinkles.", ReasonCode.UNSUBSTANTIATED_CLAIM),
        ("It is impossible to lose money with our signals.", ReasonCode.FINANCIAL_PROMISE),
        ("A risk-free investment for everyone.", ReasonCode.FINANCIAL_PROMISE),
        ("Only dimwits pay full price.", ReasonCode.PROFANITY),
        ("Prevents SIDS while your baby sleeps.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("This fucking blender rules.", ReasonCode.PROFANITY),
        ("Only idiots buy the knockoffs.", ReasonCode.PROFANITY),
        ("Email jane.doe@example.com for details.", ReasonCode.PII_EMAIL),
        ("Call (415) 555-0132 today.", ReasonCode.PII_PHONE),
        ("Call +44 20 7946 0958 today.", ReasonCode.PII_PHONE),
        ("Pay with 4111 1111 1111 1111.", ReasonCode.PII_CARD),
        ("SSN 123-45-6789 on file.", ReasonCode.PII_NATIONAL_ID),
        ("Ship it to 742 Evergreen Terrace.", ReasonCode.PII_ADDRESS),
        ("Visit 12 Main Street, Apt 4 today.", ReasonCode.PII_ADDRESS),
    ],
)
def test_rule_catches_listed_pattern(text: str, code: ReasonCode) -> None:
    assert code in codes(text)


@pytest.mark.parametrize(
    "text",
    [
        "This two-part epoxy cures in 24 hours to a rock-hard finish.",
        "Fully cured in 72 hours; sets to the touch in 15 minutes.",
        "Chewy dog treats for dogs with arthritis-prone joints.",
        "These tasty treats are baked with real chicken.",
        "Treat yourself to bold brush strokes.",
        "Helps prevent blight and disease on roses and tomato plants.",
        "Each softgel provides 1000 IU of vitamin D3.",
        "A practical budgeting workbook with monthly budget sheets.",
        "Satisfaction guaranteed or your money back.",
        "Backed by our money-back guarantee and a lifetime warranty.",
        "20% off this month only; 15% cashback for members.",
        "Shiitake mushrooms grown near Scunthorpe.",
        "This 4 Wheel Drive truck climbs anything; 64 GB Flash Drive included.",
        "Measures 12 x 18 x 24 in; model 300-200-1000X; 3.7 V 2000 mAh battery.",
        "Order number 1234 5678 9012 3456 ships today.",
        "It prevents rust and corrosion on outdoor metal.",
        "This product is not intended to diagnose, treat, cure or prevent any disease.",
        "Designed to help you reach your weight goals alongside diet and exercise.",
    ],
)
def test_rules_do_not_fire_on_ordinary_copy(text: str) -> None:
    assert codes(text) == set()


def test_competitor_terms_match_whole_words_case_insensitively() -> None:
    terms = ("Acme Pro", "Zeta")
    assert ReasonCode.COMPETITOR_TRADEMARK in codes("Better than ACME PRO ever was.", terms)
    assert ReasonCode.COMPETITOR_TRADEMARK not in codes("Zetamax is our own brand.", terms)
    assert ReasonCode.COMPETITOR_TRADEMARK not in codes("Better than Acme Pro.")


def test_blank_merchant_terms_are_ignored() -> None:
    assert codes("Anything at all.", ("", "  ")) == set()


def test_severity_is_high_for_hard_rules_and_medium_for_soft_ones() -> None:
    hits = find_rule_hits("Risk-free! It cures cancer.")
    severities = {hit.code: hit.severity for hit in hits}
    assert severities[ReasonCode.MEDICAL_CLAIM] is Severity.HIGH
    assert severities[ReasonCode.RISK_FREE] is Severity.MEDIUM


def test_hits_carry_the_span_of_the_match() -> None:
    text = "Write to jane@example.com now."
    (hit,) = find_rule_hits(text)
    assert text[hit.start : hit.end] == "jane@example.com"


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True)],
)
def test_luhn_check(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Living with psoriasis? Not after this balm.", ReasonCode.MEDICAL_CLAIM),
        ("Eczema flare-ups become a distant memory.", ReasonCode.MEDICAL_CLAIM),
        ("You can put your statins back in the cupboard.", None),
        ("Ditch your inhalers once and for all.", ReasonCode.MEDICAL_CLAIM),
        ("A gentle replacement for your blood pressure pills.", ReasonCode.MEDICAL_CLAIM),
        ("Leave your toddler with it: totally harmless.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("Your newborn can nap in it unsupervised.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("Members make $2,000 a week from their phones.", ReasonCode.FINANCIAL_PROMISE),
        ("Our traders have never had a losing month.", ReasonCode.FINANCIAL_PROMISE),
        ("Become a millionaire with three clicks.", ReasonCode.FINANCIAL_PROMISE),
        ("It works for everyone, no matter what.", ReasonCode.GUARANTEE),
        ("Effective 100% of the time.", ReasonCode.GUARANTEE),
        ("Cellulite melts away for good.", ReasonCode.WEIGHT_LOSS_CLAIM),
        ("Slim down while eating whatever you want.", ReasonCode.WEIGHT_LOSS_CLAIM),
    ],
)
def test_paraphrased_claims_are_caught(text: str, code: ReasonCode | None) -> None:
    found = find_rule_hits(text)
    if code is None:  # a paraphrase the rules leave to the classifier
        assert all(hit.severity is not Severity.HIGH for hit in found)
        return
    assert code in {hit.code for hit in found}
    assert any(hit.severity is Severity.HIGH for hit in found)


@pytest.mark.parametrize(
    "text",
    [
        "A weekly pill organizer with seven compartments.",
        "This insulin cooler keeps insulin cold for 36 hours.",
        "Streaming for just $9.99 a month.",
        "Our budgeting workbook helps you save $200 a month.",
        "Perfect coffee every time.",
        "Smooth brush strokes on any wall.",
        "Sugar-free and suitable for people with diabetes.",
        "Chewy dog treats for dogs with arthritis-prone joints.",
        "The desk is completely height-adjustable.",
        "Keeps your baby warm all night.",
        "Never lose your keys again.",
        "Sweat-wicking fabric dries overnight.",
        "Earn points every time you shop.",
        "Helps prevent blight and leaf disease on tomatoes.",
        "This product is not intended to diagnose, treat, cure or prevent any disease.",
    ],
)
def test_paraphrase_rules_leave_ordinary_copy_alone(text: str) -> None:
    assert all(hit.severity is not Severity.HIGH for hit in find_rule_hits(text)), text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Only losers settle for the generic brand.", ReasonCode.PROFANITY),
        ("Fools and suckers pay double elsewhere.", ReasonCode.PROFANITY),
        ("Stupid people buy the knockoffs.", ReasonCode.PROFANITY),
        ("Are you dumb? Buy the real thing.", ReasonCode.PROFANITY),
        ("Cheap shoppers are pathetic.", ReasonCode.PROFANITY),
        ("Screw them, they are a bunch of jackasses.", ReasonCode.PROFANITY),
        ("Her home address is 742 Evergreen Terrace; stop by.", ReasonCode.PII_ADDRESS),
        ("Send the refund to GB29 NWBK 6016 1331 9268 19.", ReasonCode.PII_BANK_ACCOUNT),
        ("Bank details: 021000021 / 9876543.", ReasonCode.PII_BANK_ACCOUNT),
        ("Endorsed by the World Health Organization.", ReasonCode.CERTIFICATION_CLAIM),
        ("The FDA has approved it for daily use.", ReasonCode.CERTIFICATION_CLAIM),
        ("Carries the seal of approval from the CDC.", ReasonCode.CERTIFICATION_CLAIM),
        ("Government approval to treat back pain.", ReasonCode.CERTIFICATION_CLAIM),
        ("Relief from epilepsy without a clinic visit.", ReasonCode.MEDICAL_CLAIM),
        ("Unclogs your arteries in weeks.", ReasonCode.MEDICAL_CLAIM),
        ("Better than a flu shot.", ReasonCode.MEDICAL_CLAIM),
        ("After years of pain, my mother finally feels cured.", ReasonCode.MEDICAL_CLAIM),
        ("His scans came back clean after a month.", ReasonCode.MEDICAL_CLAIM),
        ("You can taper off your antidepressants.", ReasonCode.MEDICAL_CLAIM),
        ("Lose 10 pounds while you sleep.", ReasonCode.GUARANTEE),
        ("Melts stubborn fat with zero effort.", ReasonCode.GUARANTEE),
        ("Instant, permanent results.", ReasonCode.GUARANTEE),
        ("It simply cannot fail.", ReasonCode.GUARANTEE),
        ("Lock in 12% a month with no chance of loss.", ReasonCode.FINANCIAL_PROMISE),
        ("Your principal is fully protected.", ReasonCode.FINANCIAL_PROMISE),
        ("The trading bot that never loses.", ReasonCode.FINANCIAL_PROMISE),
        ("Turn spare change into a fortune overnight.", ReasonCode.FINANCIAL_PROMISE),
        ("Lets your baby sleep safely on their tummy.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("Impossible for a toddler to choke on.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("So secure you can skip the straps on short trips.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("The only crib that makes accidents impossible.", ReasonCode.CHILD_SAFETY_CLAIM),
    ],
)
def test_rule_set_3_catches_policy_claims(text: str, code: ReasonCode) -> None:
    hits = [hit for hit in find_rule_hits(text) if hit.code is code]
    assert hits, text
    assert any(hit.severity is Severity.HIGH for hit in hits)


@pytest.mark.parametrize(
    "text",
    [
        "Foolproof setup: plug it in and you are done.",
        "A fool-proof lock for the garden shed.",
        "Don't be fooled by cheap imitations.",
        "The cats are fools for this catnip toy.",
        "Investing for Dummies, the newest edition.",
        "A stupidly simple tool for busy cooks; dumbbells sold separately.",
        "Visit our flagship store at 12 Oak Lane.",
        "Pick it up from our warehouse at 88 Harbor Road.",
        "Model GB12 3456 7890 1234 in stock.",
        "USDA certified organic and Fair Trade certified.",
        "This product has not been approved by the FDA.",
        "Made in an FDA-registered facility.",
        "Parents who approved the design helped us test it.",
        "Moms who recommend it love the soft fabric.",
        "Once the epoxy is fully cured, sand it smooth.",
        "My grandmother cured her own ham this way.",
        "Repairs damaged hair and restores shine.",
        "Kills 99.9% of germs on kitchen surfaces.",
        "Flush out the fuel lines before storage; resets your router in one tap.",
        "Pair it with regular exercise and a balanced diet.",
        "Burns evenly for 60 hours.",
        "It won't fail you on the trail, and you can't fail to notice the grip.",
        "Past performance does not guarantee future results.",
        "Save 15% every month with subscribe and save.",
        "It never loses its shape, wash after wash.",
        "Place your baby on their back to sleep, as paediatricians advise.",
        "Never let your baby sleep on their tummy.",
        "Never leave your child unattended on a raised surface.",
        "Do not skip the straps, even on short trips.",
        "Warning: choking hazard, small parts; not for children under 3.",
        "A bedside sleeper for safe co-sleeping arrangements.",
    ],
)
def test_rule_set_3_leaves_hard_negatives_alone(text: str) -> None:
    assert all(hit.severity is not Severity.HIGH for hit in find_rule_hits(text)), text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Our signals have a 100% win rate.", ReasonCode.GUARANTEE),
        ("Your acne will never come back.", ReasonCode.GUARANTEE),
        ("Stretch marks disappear completely after one tube.", ReasonCode.GUARANTEE),
        ("No toddler has ever been hurt using it.", ReasonCode.CHILD_SAFETY_CLAIM),
        ("Protects your little one in any crash.", ReasonCode.CHILD_SAFETY_CLAIM),
    ],
)
def test_rule_set_3_catches_outcome_promises(text: str, code: ReasonCode) -> None:
    assert any(h.code is code and h.severity is Severity.HIGH for h in find_rule_hits(text))


@pytest.mark.parametrize(
    "text",
    [
        "Permanent hair dye that covers grey hairs permanently.",
        "Scratches and scars disappear completely from wood with this polish.",
        "Permanently installed rails for the crib.",
        "A permanent marker with a fine tip.",
    ],
)
def test_outcome_rules_leave_permanent_products_alone(text: str) -> None:
    assert all(hit.severity is not Severity.HIGH for hit in find_rule_hits(text)), text
