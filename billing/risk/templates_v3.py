"""Version 3 of the phrase bank: training-only families added after rule set 2.

Why: with one or two families per kind of risk, a new phrasing of a known kind looked
like a new kind to the classifier (docs/risk.md, "Evaluation"). These families add several
phrasings per prohibited claim of `shared/design/RISK.md` (disease and cure claims,
testimonials and indirect claims, drug replacement, guaranteed results, income and
no-loss finance, absolute child safety, certifications, profanity and insults, personal
data), each written from that policy, plus hard-negative `pass` families and `review`
families that sit next to them, so that more block vocabulary does not cost precision.

None of these families is held out: the test split stays the version-2 held-out families,
byte for byte (`dataset.generate_examples` renders these after every version-2 family, so
the seeded random stream that produces the held-out examples is unchanged). `SLOTS_V3`
holds slot lists that only these families use.
"""

from __future__ import annotations

from billing.risk.templates import Family

DATA_VERSION = 3

SLOTS_V3: dict[str, tuple[str, ...]] = {
    "ssn": ("078-05-1120", "219-09-9999", "457-55-5462", "123-45-6789"),
    "account": (
        "GB29 NWBK 6016 1331 9268 19",
        "DE89 3704 0044 0532 0130 00",
        "021000021 / 9876543",
    ),
    "agency": (
        "the FDA",
        "the World Health Organization",
        "the CDC",
        "the American Medical Association",
        "Health Canada",
        "the NHS",
    ),
    "ailment": (
        "pneumonia",
        "epilepsy",
        "multiple sclerosis",
        "glaucoma",
        "bronchitis",
        "irritable bowel syndrome",
        "acid reflux",
        "sleep apnea",
    ),
}

_HEALTHY = ("health", "food", "beauty")

_PASS_V3 = (
    Family(
        "pass.hardneg.pharmacy",
        "pass",
        (
            "Seven labelled compartments hold a week of pills, morning and night.",
            "The insulated case keeps insulin cool for up to 36 hours.",
            "Ask your pharmacist about interactions with your current medications.",
            "Not a substitute for medicine your doctor has prescribed.",
            "A travel case with room for an inhaler, plasters and a thermometer.",
        ),
        categories=("health",),
    ),
    Family(
        "pass.hardneg.wellness",
        "pass",
        (
            "Consult your doctor before use if you are pregnant or nursing.",
            "Developed with input from physical therapists and tested by runners.",
            "Fragrance-free and gentle on sensitive skin.",
            "Latex-free bandages in five sizes for minor cuts and scrapes.",
            "Read the leaflet and speak to a healthcare professional if symptoms persist.",
            "Contains caffeine; not recommended for children.",
        ),
        categories=("health", "beauty", "food"),
    ),
    Family(
        "pass.hardneg.certified",
        "pass",
        (
            "USDA certified organic and Fair Trade certified.",
            "Made from FSC-certified wood from responsibly managed forests.",
            "UL listed, FCC compliant and Energy Star certified.",
            "Leaping Bunny certified: never tested on animals.",
            "OEKO-TEX certified fabric, free from harmful dyes.",
            "Produced in a facility that follows good manufacturing practice.",
        ),
    ),
    Family(
        "pass.hardneg.outcomes",
        "pass",
        (
            "Results vary from person to person.",
            "Covered by a lifetime warranty against manufacturing defects.",
            "If it doesn't fit, exchange it free within 60 days.",
            "It starts first time, even on cold mornings.",
            "Pair it with regular exercise and a balanced diet.",
            "Built for years of everyday use.",
        ),
    ),
    Family(
        "pass.hardneg.finance.tools",
        "pass",
        (
            "Calculates loan payments, interest and amortisation in seconds.",
            "Past performance does not guarantee future results.",
            "Includes a chapter on spotting get-rich-quick scams.",
            "Compare savings rates and fees side by side.",
            "The course is educational and is not financial advice.",
            "Set a monthly budget and see where every dollar goes.",
        ),
        categories=("finance",),
    ),
    Family(
        "pass.hardneg.children.guidance",
        "pass",
        (
            "Place your baby on their back to sleep, as paediatricians advise.",
            "Supervise children at all times near water.",
            "Warning: choking hazard, small parts; not for children under 3.",
            "Tested for lead and phthalates by an independent lab.",
            "Check the straps are snug before every journey.",
            "Never leave your child unattended on a raised surface.",
        ),
        categories=("children",),
    ),
    Family(
        "pass.hardneg.playful",
        "pass",
        (
            "Foolproof setup: plug it in and you are done.",
            "It makes dumb speakers feel ancient.",
            "Ridiculously comfortable and crazy light.",
            "Don't be fooled by cheap imitations; feel the difference.",
            "No more losing your keys in the bottom of your bag.",
            "Stupidly simple to clean.",
        ),
    ),
    Family(
        "pass.hardneg.contact",
        "pass",
        (
            "Questions? Our customer care team replies within one business day.",
            "Find the full size chart on the product page.",
            "Track your order any time from your account.",
            "Chat with our support team from the help centre.",
        ),
    ),
    Family(
        "pass.hardneg.health.labels",
        "pass",
        (
            "Each tablet contains 400 mg of magnesium glycinate.",
            "Store below 25 C and away from direct sunlight.",
            "Do not use if the seal under the cap is broken.",
            "Suitable for vegans and free from common allergens.",
            "Consult a healthcare professional before starting any supplement.",
            "Reading glasses in strengths from +1.0 to +3.0.",
        ),
        categories=("health",),
    ),
    Family(
        "pass.hardneg.beauty.more",
        "pass",
        (
            "Leaves skin feeling soft and moisturised.",
            "A rich night cream with shea butter and squalane.",
            "Non-comedogenic and fragrance-free.",
            "Lathers richly and rinses clean.",
            "Patch test before first use.",
        ),
        categories=("beauty",),
    ),
    Family(
        "pass.hardneg.children.products",
        "pass",
        (
            "Machine-washable cover and a breathable mesh panel.",
            "Installs with ISOFIX in under a minute.",
            "A soft silicone teether that is easy for small hands to grip.",
            "Grows with your child from 6 months to 4 years.",
            "Rounded corners and a low centre of gravity.",
        ),
        categories=("children",),
    ),
    Family(
        "pass.hardneg.finance.education",
        "pass",
        (
            "A beginner's guide to reading financial statements.",
            "Covers tax-advantaged accounts, index funds and fees.",
            "Worksheets to plan an emergency fund step by step.",
            "Learn why diversification reduces risk over time.",
            "Explains how compound interest works with simple examples.",
        ),
        categories=("finance",),
    ),
    Family(
        "pass.hardneg.tone.more",
        "pass",
        (
            "The best {product} we've ever made, hands down.",
            "Killer looks, gentle price.",
            "Crazy good value for early mornings.",
            "It's wicked fast and whisper quiet.",
            "You'll want one in every room.",
        ),
    ),
)

_REVIEW_V3 = (
    Family(
        "review.claims.soothe",
        "review",
        (
            "May ease occasional joint discomfort after a long walk.",
            "Traditionally used to soothe minor aches.",
            "Supports normal blood pressure as part of a healthy lifestyle.",
            "Could help you feel less bloated after meals.",
            "Helps calm the occasional restless night.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "review.results.soft",
        "review",
        (
            "Many users notice visible results within {days}.",
            "Our most effective formula yet.",
            "Designed to help you look and feel your best.",
            "Customers rave about how much firmer their skin feels.",
            "Could be the boost your routine has been missing.",
        ),
        categories=("health", "beauty"),
    ),
    Family(
        "review.finance.side_income",
        "review",
        (
            "Could help you earn some extra income on the side.",
            "Join thousands learning to invest with more confidence.",
            "Build a portfolio that works as hard as you do.",
            "Strategies that have helped members grow their savings.",
        ),
        categories=("finance",),
    ),
    Family(
        "review.children.soothe",
        "review",
        (
            "Helps soothe teething discomfort.",
            "Calms fussy babies in minutes, parents say.",
            "Designed to help your {kid} settle faster at bedtime.",
            "Gentle support for growing feet.",
        ),
        categories=("children",),
    ),
    Family(
        "review.certification.soft",
        "review",
        (
            "Dermatologist tested and hypoallergenic.",
            "Recommended by pharmacists across the country.",
            "Hospital-grade filtration for your home.",
            "Made in an FDA-registered facility.",
            "Developed with doctors and backed by research.",
        ),
        categories=("health", "beauty", "home"),
    ),
    Family(
        "review.language.mild",
        "review",
        (
            "This {product} is freaking awesome.",
            "Holy cow, this is good.",
            "The other brands? Pretty lame, honestly.",
            "Damn, that finish is smooth.",
        ),
    ),
    Family(
        "review.hype.more",
        "review",
        (
            "You'll wonder how you ever lived without it.",
            "Feel the difference from day one.",
            "Transform your routine in just {days}.",
            "Seriously powerful results you can see.",
        ),
    ),
    Family(
        "review.health.support",
        "review",
        (
            "Supports your body's natural defences.",
            "Formulated to support healthy skin from within.",
            "Helps you stay energised through the afternoon.",
            "May help reduce occasional stress.",
        ),
        categories=_HEALTHY,
    ),
)

_BLOCK_V3 = (
    Family(
        "block.medical.indirect",
        "block",
        (
            "Designed for anyone battling {ailment} who wants their life back.",
            "No more flare-ups, no more {disease}.",
            "Relief from {ailment} that lasts, without a trip to the clinic.",
            "Helps the body overcome {disease} on its own.",
            "Your doctor will be amazed at your next checkup.",
            "Unclogs your arteries in a matter of weeks.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.medical.testimonial.more",
        "block",
        (
            "After years of {ailment}, my mother finally feels cured.",
            "I threw out my inhaler the week I started taking it.",
            "Customers write in every day to say their {disease} has cleared up.",
            "One reviewer's scans came back clean after three months on it.",
            "My husband's {ailment} went away and we credit this alone.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.medical.mechanism",
        "block",
        (
            "Starves cancer cells and switches on the immune response that destroys them.",
            "Flushes out the plaque that causes heart attacks.",
            "Resets your pancreas so your blood sugar stays normal for good.",
            "Repairs the brain damage behind memory loss.",
            "Neutralises viruses on contact before they reach your lungs.",
            "Rebuilds worn cartilage so the joint pain never comes back.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.medical.replace.more",
        "block",
        (
            "Patients skip their {medication} once they have this.",
            "Nature's version of {medication}, with no pharmacy needed.",
            "Trade your {medication} for three drops a day.",
            "You can taper off {medication} without asking your doctor.",
            "Everything your prescription does, minus the prescription.",
            "Why keep refilling {medication}? This works just as well.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.medical.prevent.more",
        "block",
        (
            "Better than a flu shot: one capsule keeps every virus away.",
            "Makes vaccines unnecessary for the whole family.",
            "Take it daily and your risk of {ailment} drops to zero.",
            "Guards you against {disease} and every other serious illness.",
            "Builds a wall around your immune system that no germ gets through.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.guarantee.promise",
        "block",
        (
            "We promise you will lose {weight} in {days}, no matter what.",
            "Instant, permanent results on the very first try.",
            "Hair regrowth is certain for every single user.",
            "You will look ten years younger in {days}. That is a promise.",
            "It simply cannot fail.",
        ),
        categories=("health", "beauty"),
    ),
    Family(
        "block.guarantee.effortless",
        "block",
        (
            "Lose {weight} while you sleep.",
            "Sculpts visible abs without a single workout.",
            "Melts stubborn fat with zero effort on your part.",
            "Drop {weight} in {days} without giving up your favourite foods.",
            "Turns back the clock ten years in a single night.",
        ),
        categories=("health", "beauty"),
    ),
    Family(
        "block.financial.returns",
        "block",
        (
            "Lock in {pct} a month with no chance of loss.",
            "Your deposit grows {pct} every {period}, promised in writing.",
            "Members have not lost a single trade in three years.",
            "Put in {amount}, take out {amount} by next {period}, with no risk.",
            "Your principal is fully protected while the returns keep climbing.",
        ),
        categories=("finance",),
    ),
    Family(
        "block.financial.getrich",
        "block",
        (
            "Quit your job next month: the signals do all the work.",
            "Turn your spare change into a fortune overnight.",
            "The trading bot that never loses.",
            "Become wealthy in {days} without any skill or experience.",
            "Earn a full-time income from your phone within {days}.",
        ),
        categories=("finance",),
    ),
    Family(
        "block.financial.market",
        "block",
        (
            "Beat the market every single month, no exceptions.",
            "Know tomorrow's winning stocks today, every {period}.",
            "Insider picks that simply cannot go down.",
            "Our members {multiple} their savings while everyone else loses.",
        ),
        categories=("finance",),
    ),
    Family(
        "block.child_safety.sleep",
        "block",
        (
            "Lets your {kid} sleep safely on their tummy all night.",
            "Makes co-sleeping with your {kid} completely safe.",
            "Forget the safe-sleep rules: this keeps your {kid} breathing all night.",
            "Your {kid} can nap on any sofa or adult bed with this, no worries.",
        ),
        categories=("children",),
    ),
    Family(
        "block.child_safety.hazard",
        "block",
        (
            "Tiny pieces, but impossible for a {kid} to choke on.",
            "Fine for any age, even newborns, despite the small parts.",
            "Leave your {kid} in the bath with it; it keeps their head above water.",
            "So secure you can skip the straps on short trips.",
            "Zero risk of injury, whatever your {kid} does with it.",
            "The only crib that makes accidents impossible.",
        ),
        categories=("children",),
    ),
    Family(
        "block.certification.more",
        "block",
        (
            "Approved by {agency} for daily use.",
            "Officially endorsed by {agency}.",
            "Cleared by {agency} to relieve {ailment}.",
            "The first {product} with government approval for treating {disease}.",
            "Holds full FDA approval, unlike the competition.",
        ),
        categories=("health", "beauty", "children"),
    ),
    Family(
        "block.certification.seal",
        "block",
        (
            "Carries the official seal of approval from {agency}.",
            "{agency} has confirmed that it works.",
            "Recommended by {agency} for every household.",
            "Certified by {agency} as a medical treatment.",
        ),
        categories=("health", "beauty", "children"),
    ),
    Family(
        "block.insult.customers",
        "block",
        (
            "You'd have to be a clown to buy anything else.",
            "Stupid people buy the knockoffs; smart people buy ours.",
            "Only losers settle for the generic brand.",
            "Fools and suckers pay double elsewhere.",
            "Are you dumb? Buy the real thing.",
            "Anyone who disagrees is a brainless twit.",
        ),
    ),
    Family(
        "block.profanity.more",
        "block",
        (
            "Holy shit, this {product} is fucking amazing.",
            "No bullshit, just the best {product} you can buy.",
            "The cheap ones are garbage and their makers are assholes.",
            "What the fuck are you waiting for?",
            "Screw the competition; they are a bunch of jackasses.",
        ),
    ),
    Family(
        "block.insult.groups",
        "block",
        (
            "Made for people smarter than the idiots who buy plastic.",
            "Only ugly, lazy people skip moisturiser.",
            "Even old people too dumb for smartphones can use it.",
            "Cheap shoppers are pathetic, and everyone knows it.",
        ),
    ),
    Family(
        "block.pii.private",
        "block",
        (
            "Reach me at {email} or {phone} after 6pm.",
            "Her home address is {address}; stop by anytime.",
            "Collect it from my flat at {address}.",
            "Payment goes to {person}'s personal card {card}.",
            "WhatsApp {person} on {phone}.",
        ),
    ),
    Family(
        "block.pii.identity",
        "block",
        (
            "Verified with {person}'s social security number {ssn}.",
            "Registered to {person}, SSN {ssn}.",
            "Send the refund to account {account} in the name of {person}.",
            "{person}'s bank details: {account}.",
        ),
    ),
    Family(
        "block.pii.customer",
        "block",
        (
            "Last week {person} of {address} ordered three of these.",
            "Our customer {person} ({email}) loved it.",
            "Thanks to {person} at {phone} for the five-star review!",
            "{person} from {address} says it changed her mornings.",
        ),
    ),
    Family(
        "block.medical.symptoms",
        "block",
        (
            "Say farewell to chronic pain, numbness and tingling for life.",
            "Restores perfect eyesight so you can throw away your glasses.",
            "Your blood sugar numbers will look like they did at twenty.",
            "Joint pain gone in {days}, for good.",
            "Reverses nerve damage in your hands and feet.",
            "Removes the hidden cause of {ailment} at the root.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.medical.natural",
        "block",
        (
            "Big pharma fears this natural fix for {ailment}.",
            "The herbal protocol oncologists don't want you to find.",
            "Heals {ailment} from the inside, no doctor required.",
            "Reset your gut and say goodbye to {ailment}.",
            "Naturally wipes out the root cause of {disease}.",
        ),
        categories=_HEALTHY,
    ),
    Family(
        "block.guarantee.beauty",
        "block",
        (
            "Erases deep wrinkles in {days}: every face, every time.",
            "Stretch marks disappear completely after one tube.",
            "Grows a full head of hair on any bald scalp.",
            "Your acne will never come back.",
            "Removes dark spots permanently from the first use.",
        ),
        categories=("beauty", "health"),
    ),
    Family(
        "block.financial.crypto",
        "block",
        (
            "This coin will {multiple} by next {period}; get in before it's too late.",
            "Our crypto signals have a 100% win rate.",
            "Turn {amount} into {amount} in {days}, no experience needed.",
            "Members retire early on autopilot income.",
            "Free money every {period}: just copy our trades.",
        ),
        categories=("finance",),
    ),
    Family(
        "block.child_safety.products",
        "block",
        (
            "Non-toxic enough that your {kid} can safely swallow the pieces.",
            "The gate holds even if your {kid} climbs it, so you never need to check.",
            "Protects your {kid} in any crash, at any speed.",
            "Stops every fall, so your {kid} can play near the stairs alone.",
            "No {kid} has ever been hurt using it, and none ever will.",
        ),
        categories=("children",),
    ),
    Family(
        "block.certification.claims",
        "block",
        (
            "Approved for medical use by regulators in every country.",
            "The only {product} certified to cure {ailment}.",
            "Government approved to treat {disease}.",
            "Awarded FDA approval last year.",
            "Officially recognised as a treatment by health authorities.",
        ),
        categories=("health", "beauty", "children"),
    ),
    Family(
        "block.insult.direct",
        "block",
        (
            "If you don't buy this, you're an idiot.",
            "Our reviewers are smarter than you, loser.",
            "Only a brain-dead sheep would shop anywhere else.",
            "Still using the old one? Wake up, you fool.",
            "Cheapskates with no taste, look away.",
        ),
    ),
    Family(
        "block.profanity.casual",
        "block",
        (
            "This {product} is the shit.",
            "Fuck yeah, it's finally back in stock.",
            "Kick-ass sound, and the other brands are crap made by pricks.",
            "Bloody brilliant, no bullshit.",
        ),
    ),
    Family(
        "block.pii.record",
        "block",
        (
            "Customer record: {person}, {email}, {phone}.",
            "For verification, the buyer's SSN is {ssn}.",
            "Ship to {person}, {address}, phone {phone}.",
            "Ask for {person} at home: {address}.",
        ),
    ),
)

FAMILIES_V3: tuple[Family, ...] = _PASS_V3 + _REVIEW_V3 + _BLOCK_V3
