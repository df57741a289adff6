"""The phrase bank behind the synthetic risk dataset: products, slot values, claim families.

A *family* is a group of paraphrases of one kind of claim (or of one kind of ordinary copy)
with one label. Families marked `held_out` appear only in the test split, so the
evaluation measures how the model handles phrasings it never saw in training. Slots in
braces (`{product}`, `{disease}`, ...) are filled by `dataset.py` from the lists below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    """Paraphrases of one claim with one label; `categories` limits where it is used."""

    name: str
    label: str
    templates: tuple[str, ...]
    categories: tuple[str, ...] = ()
    held_out: bool = False


PRODUCTS: dict[str, tuple[str, ...]] = {
    "health": (
        "vitamin D3 softgels", "magnesium glycinate capsules", "turmeric curcumin tablets",
        "elderberry gummies", "omega-3 fish oil", "probiotic capsules", "herbal sleep tea",
        "collagen peptide powder", "zinc lozenges", "digital blood pressure monitor",
        "first aid kit", "posture corrector", "apple cider vinegar gummies",
        "green superfood powder",
    ),
    "finance": (
        "budgeting workbook", "personal finance course", "stock trading masterclass",
        "hardware crypto wallet", "financial calculator", "investing for beginners ebook",
        "cash envelope wallet", "retirement planning guide", "forex signal subscription",
        "real estate investing seminar",
    ),
    "children": (
        "baby monitor", "convertible crib", "wooden stacking blocks", "infant car seat",
        "baby sleep sack", "teething ring", "toddler balance bike", "baby bottle set",
        "kids' plush bunny", "baby carrier", "crib mattress", "infant swing",
    ),
    "home": (
        "linen duvet cover", "ceramic table lamp", "wool area rug", "cast iron skillet",
        "high-speed blender", "bamboo cutting board", "air purifier", "robot vacuum",
    ),
    "electronics": (
        "wireless earbuds", "4K action camera", "mechanical keyboard", "portable power bank",
        "smart thermostat", "Bluetooth speaker", "USB-C hub", "gaming mouse",
    ),
    "beauty": (
        "vitamin C serum", "hydrating face cream", "argan oil shampoo", "retinol night cream",
        "mineral sunscreen SPF 50", "clay face mask", "lip balm set", "hair growth serum",
    ),
    "food": (
        "single-origin coffee beans", "raw wildflower honey", "matcha green tea",
        "extra virgin olive oil", "dark chocolate bar", "organic granola",
    ),
    "pets": (
        "chicken jerky dog treats", "grain-free cat food", "orthopedic dog bed",
        "dental chews for dogs", "catnip toy set", "salmon oil for dogs",
    ),
    "diy": (
        "two-part epoxy", "wood glue", "exterior acrylic paint", "silicone sealant",
        "concrete patch", "cordless drill", "polyurethane varnish", "construction adhesive",
    ),
    "apparel": (
        "merino wool sweater", "waterproof hiking boots", "organic cotton tee",
        "down puffer jacket", "running shorts", "leather belt",
    ),
    "garden": (
        "copper fungicide spray", "raised garden bed", "tomato fertilizer", "lawn seed mix",
    ),
}

SLOTS: dict[str, tuple[str, ...]] = {
    "disease": (
        "cancer", "diabetes", "arthritis", "Alzheimer's", "high blood pressure", "asthma",
        "eczema", "psoriasis", "depression", "insomnia", "heart disease", "the flu",
        "COVID-19", "migraines", "dementia", "tumors", "kidney stones", "fibromyalgia",
    ),
    "medication": (
        "insulin", "blood pressure pills", "chemotherapy", "antidepressants", "inhalers",
        "statins", "painkillers", "prescription drugs",
    ),
    "feature": (
        "a soft-touch finish", "a compact footprint", "a two-year warranty",
        "recycled packaging", "a lightweight build", "easy-clean surfaces",
        "thoughtful details", "a modern silhouette", "quick setup", "long-lasting materials",
        "a comfortable fit", "a balanced, smooth profile",
    ),
    "amount": ("$200", "$500", "$1,000", "$3,000", "$10,000", "$250"),
    "period": ("day", "week", "month"),
    "pct": ("8%", "12%", "20%", "35%", "50%", "300%"),
    "multiple": ("double", "triple", "10x", "five times"),
    "kid": ("baby", "toddler", "little one", "newborn", "child", "infant"),
    "weight": ("10 pounds", "20 lbs", "5 kg", "30 pounds", "a dress size"),
    "days": ("7 days", "24 hours", "two weeks", "48 hours", "a month"),
    "insult": (
        "brainless", "pathetic losers", "clueless fools", "total suckers", "gullible sheep",
        "dimwits",
    ),
    "swear": ("fucking", "damn", "shit", "freaking", "bloody"),
    "person": ("Jane Miller", "Carlos Diaz", "Priya Shah", "Tom O'Neil", "Mei Chen"),
    "email": (
        "jane.miller@gmail.com", "carlos.d@outlook.com", "priya.shah88@yahoo.com",
        "orders@tomsdeals.net", "mei.chen@protonmail.com",
    ),
    "phone": (
        "(415) 555-0132", "212-555-0198", "+44 20 7946 0958", "555.867.5309", "+1 646 555 0101",
    ),
    "address": (
        "742 Evergreen Terrace", "1600 Maple Avenue", "88 Harbor Road", "12 Oak Lane",
        "350 Fifth Avenue, Apt 21", "9 Cedar Court",
    ),
    "card": ("4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881", "3782 822463 10005"),
}

OPENERS = (
    "Meet the {product}, made with {feature}.",
    "Our {product} pairs {feature} with everyday practicality.",
    "The {product} is built for daily use, with {feature}.",
    "Introducing the {product}: {feature} and a price that makes sense.",
    "Designed in-house, this {product} offers {feature}.",
    "Upgrade your routine with the {product}, featuring {feature}.",
    "This {product} combines {feature} with {feature}.",
    "A customer favorite, the {product} stands out for {feature}.",
)

CLOSERS = (
    "Ships in two business days.",
    "Backed by our 30-day return policy.",
    "Available in three sizes.",
    "Order today and see why customers keep coming back.",
    "Free shipping on orders over $50.",
    "Each order supports our tree-planting partner.",
    "",
    "",
)

_PASS = (
    Family("pass.features.1", "pass", (
        "It measures 30 x 20 x 10 cm and weighs just 400 g.",
        "Made from responsibly sourced materials and finished by hand.",
        "Includes a quick-start guide and a storage pouch.",
        "Available in sage, charcoal and sand.",
    )),
    Family("pass.features.2", "pass", (
        "Customers love how easy it is to clean.",
        "A thoughtful gift for anyone who appreciates quality.",
        "Every unit is inspected before it leaves our workshop.",
        "Simple to set up, simple to use, built to last.",
    )),
    Family("pass.features.3", "pass", (
        "Pair it with the rest of the collection for a coordinated look.",
        "The minimalist design fits any space.",
        "Tested by our team for months before launch.",
    ), held_out=True),
    Family("pass.hardneg.diy", "pass", (
        "The formula cures in 24 hours to a rock-hard finish.",
        "Fully cures in 72 hours; sets to the touch in 15 minutes.",
        "Cured film resists moisture, rust and UV fading.",
        "It prevents rust and corrosion on outdoor metal.",
    ), categories=("diy",)),
    Family("pass.hardneg.diy.ho", "pass", (
        "Allow it to cure overnight before sanding.",
        "Cure time is about a day at room temperature, faster in warm weather.",
        "Once cured, it withstands heat, water and heavy use.",
    ), categories=("diy",), held_out=True),
    Family("pass.hardneg.pets", "pass", (
        "These tasty treats are baked with real chicken.",
        "Dogs go wild for these crunchy treats; reward good behavior anytime.",
        "Single-ingredient treats your pet will beg for.",
    ), categories=("pets",)),
    Family("pass.hardneg.pets.ho", "pass", (
        "Perfect as training treats or an afternoon snack.",
        "A bag of treats that lasts, resealable to stay fresh.",
    ), categories=("pets",), held_out=True),
    Family("pass.hardneg.health", "pass", (
        "Each softgel provides 1000 IU of vitamin D3.",
        "Take two capsules daily with food, or as directed by your physician.",
        "Third-party tested for purity; free from gluten and artificial colors.",
        "These statements have not been evaluated by the Food and Drug Administration.",
        "Reads systolic and diastolic pressure with an easy-to-read display.",
    ), categories=("health",)),
    Family("pass.hardneg.health.ho", "pass", (
        "Contains 400 mg of magnesium per serving.",
        "Consult your doctor before use if you are pregnant or taking medication.",
        "Stocked with bandages, gauze and antiseptic wipes for everyday scrapes.",
    ), categories=("health",), held_out=True),
    Family("pass.hardneg.finance", "pass", (
        "Track income, expenses and savings goals in one place.",
        "A practical workbook with monthly budget sheets and a debt payoff tracker.",
        "Learn how index funds, bonds and diversification work, at your own pace.",
        "Investing involves risk, including possible loss of principal.",
    ), categories=("finance",)),
    Family("pass.hardneg.finance.ho", "pass", (
        "Plan for retirement with clear worksheets and plain-language explanations.",
        "Stores your keys offline with a PIN and a recovery phrase.",
        "Past performance does not predict future results.",
    ), categories=("finance",), held_out=True),
    Family("pass.hardneg.children", "pass", (
        "Meets ASTM and CPSC safety standards and is BPA-free.",
        "Always follow the included safe-sleep guidelines.",
        "Recommended for ages 3 and up; adult supervision required.",
        "The rounded edges and non-toxic finish are made with little hands in mind.",
    ), categories=("children",)),
    Family("pass.hardneg.children.ho", "pass", (
        "Tested to EN 71 toy safety standards.",
        "Machine washable, with a two-way zipper for easy diaper changes.",
    ), categories=("children",), held_out=True),
    Family("pass.hardneg.commerce", "pass", (
        "Satisfaction guaranteed or your money back.",
        "Backed by our money-back guarantee and a lifetime warranty.",
        "We guarantee fast, free shipping on every order.",
        "Our best seller for three years running.",
    )),
    Family("pass.hardneg.commerce.ho", "pass", (
        "Love it or return it within 60 days, no questions asked.",
        "Every purchase comes with our price-match guarantee.",
    ), held_out=True),
    Family("pass.hardneg.beauty", "pass", (
        "Hydrates dry skin and leaves hair soft and shiny.",
        "Fights frizz and treats dry, damaged ends.",
        "A lightweight formula that absorbs quickly without a greasy feel.",
    ), categories=("beauty",)),
    Family("pass.hardneg.garden", "pass", (
        "Helps prevent blight and leaf disease on tomatoes and roses.",
        "Feeds plants for up to three months.",
    ), categories=("garden",)),
    Family("pass.hardneg.health.more", "pass", (
        "Each gummy contains 50 mg of elderberry extract and 10 mg of zinc.",
        "Store in a cool, dry place and keep out of reach of children.",
        "This product is not intended to diagnose, treat, cure or prevent any disease.",
        "The monitor stores up to 120 readings for two users.",
        "Gluten-free, non-GMO and suitable for vegetarians.",
        "Do not exceed the recommended daily dose.",
    ), categories=("health",)),
    Family("pass.hardneg.finance.more", "pass", (
        "Covers compound interest, emergency funds and retirement accounts in plain English.",
        "All investments carry risk; the course teaches you how to manage it.",
        "Includes spreadsheets for tracking dividends and fees.",
        "Written by a certified financial planner with twenty years of experience.",
        "No promises of riches, just sound habits explained clearly.",
    ), categories=("finance",)),
    Family("pass.hardneg.children.more", "pass", (
        "The breathable mesh sides meet current safe-sleep guidance.",
        "Always supervise your child during bath time.",
        "Small parts are securely fixed; not suitable for children under 3.",
        "The five-point harness adjusts as your child grows.",
        "Certified to the latest federal crib safety standard.",
    ), categories=("children",)),
    Family("pass.hardneg.tone", "pass", (
        "Honestly, we think you'll love it.",
        "It's seriously comfortable, and the price is unbeatable.",
        "Our team is obsessed with this one, and we think you will be too.",
        "Forget the rest: this is the one reviewers keep recommending.",
        "Built tough enough to survive the kids, the dog and the weekend.",
    )),
    Family("pass.hardneg.misc", "pass", (
        "This 4 Wheel Drive truck climbs over anything in the backyard.",
        "It's a killer deal on a kitchen essential.",
        "The sound is insanely good for the price.",
    ), categories=("electronics", "home")),
)

_REVIEW = (
    Family("review.structure_function", "review", (
        "Supports a healthy immune system.",
        "Helps maintain healthy joints and flexibility.",
        "May support restful sleep and a calm mood.",
        "Promotes healthy digestion and gut balance.",
    ), categories=("health", "food", "pets")),
    Family("review.structure_function.ho", "review", (
        "Formulated to support heart health as part of a balanced diet.",
        "Could help you feel more energized throughout the day.",
        "Nourishes your body's natural defenses.",
    ), categories=("health", "food", "pets"), held_out=True),
    Family("review.substantiation", "review", (
        "Clinically proven to work in just {days}.",
        "Doctors recommend it more than any other brand.",
        "Dermatologist recommended and scientifically backed.",
        "Proven results in independent lab studies.",
    ), categories=("health", "beauty")),
    Family("review.substantiation.ho", "review", (
        "Backed by science and trusted by physicians nationwide.",
        "Studies show visible improvement after {days}.",
    ), categories=("health", "beauty"), held_out=True),
    Family("review.hype", "review", (
        "A miracle formula you have to try to believe.",
        "Life-changing results from the very first use.",
        "Try it risk-free for 30 days.",
        "The last {product} you will ever need to buy.",
    )),
    Family("review.hype.ho", "review", (
        "It works like magic, almost too good to be true.",
        "No risk at all: results you can feel immediately.",
    ), held_out=True),
    Family("review.soft_finance", "review", (
        "Could help you grow your savings faster than you think.",
        "The smartest investment you will make this year.",
        "Learn the strategies our students use to build serious wealth.",
    ), categories=("finance",)),
    Family("review.soft_finance.ho", "review", (
        "Many members report higher returns after the course.",
        "Start building wealth with the system top traders use.",
    ), categories=("finance",), held_out=True),
    Family("review.soft_children", "review", (
        "Pediatrician recommended for fussy babies.",
        "Gentle enough for your newborn's delicate skin.",
        "Helps your {kid} sleep through the night.",
    ), categories=("children",)),
    Family("review.soft_children.ho", "review", (
        "Soothes colic so your {kid} cries less.",
        "Designed to calm even the most restless {kid}.",
    ), categories=("children",), held_out=True),
    Family("review.claims.more", "review", (
        "Users say they feel younger and more energetic within {days}.",
        "Formulated to help you feel your best, naturally.",
        "Visible results in as little as {days}.",
        "The go-to choice of wellness experts.",
    ), categories=("health", "beauty", "food")),
    Family("review.finance.more", "review", (
        "Designed to help you make smarter money decisions and grow your wealth.",
        "Our subscribers often see strong returns.",
        "Potentially boost your portfolio with expert picks.",
    ), categories=("finance",)),
    Family("review.claims.wellness", "review", (
        "Many customers say it helps them unwind after a long day.",
        "Part of a routine that may support healthy blood sugar levels.",
        "Our customers report fewer sleepless nights.",
        "Designed to help you reach your weight goals alongside diet and exercise.",
        "Made with ingredients traditionally used to support wellbeing.",
        "Could help reduce the look of fine lines over time.",
    ), categories=("health", "beauty", "food")),
    Family("review.finance.hype", "review", (
        "Learn the techniques professional traders rely on every day.",
        "Graduates say the course changed how they think about money.",
        "Discover opportunities most investors overlook.",
        "A proven framework for building long-term wealth.",
        "Aim for financial freedom with a clear step-by-step plan.",
    ), categories=("finance",)),
    Family("review.mild_language", "review", (
        "This is a damn good {product}.",
        "The competition's version is pretty crappy by comparison.",
        "Visit our showroom at {address} to see it in person.",
    )),
)

_BLOCK = (
    Family("block.medical.explicit", "block", (
        "It cures {disease} naturally.",
        "Clinically shown to treat {disease} without side effects.",
        "Prevents {disease} and heals the body from within.",
        "A natural remedy for {disease}.",
        "Reverses {disease} in as little as {days}.",
    ), categories=("health", "food", "beauty")),
    Family("block.medical.paraphrase", "block", (
        "Say goodbye to {disease} for good.",
        "People with {disease} report they no longer need {medication}.",
        "Throw away your {medication}: this does the job instead.",
        "Your {disease} will be a thing of the past.",
        "Stop taking {medication} and let nature do the work.",
    ), categories=("health", "food", "beauty")),
    Family("block.medical.testimonial", "block", (
        "My {disease} is gone after one bottle, and my doctor could not believe it.",
        "Thousands have beaten {disease} with this one simple product.",
        "Why suffer from {disease} when nature already solved it?",
        "Doctors don't want you to know it ends {disease} for good.",
        "Ditch the {medication}; {disease} does not stand a chance.",
        "Recover from {disease} in {days} without a prescription.",
    ), categories=("health", "food", "beauty")),
    Family("block.guarantee.more", "block", (
        "Lose {weight} in {days} or we pay you.",
        "Wrinkles vanish permanently in {days}, every time.",
        "It will work for you, 100% of the time.",
        "Watch {weight} disappear without diet or exercise.",
    ), categories=("health", "beauty")),
    Family("block.financial.more", "block", (
        "Make {amount} a {period} on autopilot, even as a complete beginner.",
        "Your money will {multiple} with no chance of losing a cent.",
        "A risk-free path to {amount} in passive income every {period}.",
        "Retire next year: this system cannot lose.",
    ), categories=("finance",)),
    Family("block.child_safety.more", "block", (
        "So safe you can let your {kid} use it unattended.",
        "Nothing in it could ever harm your {kid}, so skip the supervision.",
        "Safe for newborns to sleep in face down.",
    ), categories=("children",)),
    Family("block.insult.more", "block", (
        "People who buy the cheap version are morons.",
        "If you shop anywhere else you're a total fool.",
        "Only a complete idiot would pay more.",
    )),
    Family("block.medical.outcome", "block", (
        "Within {days} your {disease} symptoms are gone for good.",
        "Finally, a {product} that puts {disease} into remission.",
        "Clears {disease} from the body, naturally and completely.",
        "Patients have walked away from {disease} after a single course.",
        "Once you start, {disease} loses its grip on your life forever.",
        "Restores normal blood sugar, so diabetes is no longer a worry.",
        "Brings your blood pressure back to normal without pills.",
        "Shrinks tumors and restores your health.",
        "The natural answer to {disease} that your pharmacist won't mention.",
    ), categories=("health", "food", "beauty")),
    Family("block.medical.replace", "block", (
        "Works better than {medication}, with none of the side effects.",
        "A safe, natural alternative to {medication} for {disease}.",
        "You can cancel your {medication} prescription once you switch.",
        "Why pay for {medication} when this handles {disease} for a fraction of the cost?",
        "Many customers have stopped their {medication} completely.",
        "Does everything {medication} does for {disease}, only naturally.",
        "Skip the pharmacy: this replaces {medication} for good.",
    ), categories=("health", "food", "beauty")),
    Family("block.medical.protect", "block", (
        "Shields your family from {disease} all year long.",
        "Keeps {disease} away so you never have to worry again.",
        "Your immune system becomes immune to {disease}.",
        "Daily use means you will never get {disease}.",
        "Builds total protection against viruses, including {disease}.",
        "Stops {disease} before it can start.",
    ), categories=("health", "food", "beauty")),
    Family("block.guarantee.body", "block", (
        "Burn belly fat overnight without changing a thing you eat.",
        "Shed {weight} by next week while eating whatever you want.",
        "Permanent weight loss from the very first bottle.",
        "Blocks the absorption of fat so you can eat anything and still slim down.",
        "Just wear it and watch {weight} come off.",
        "Bald spots fill in completely in {days}, every single time.",
        "Erases every wrinkle for good, on every skin type.",
        "Add two inches to your height, guaranteed by our formula.",
    ), categories=("health", "beauty")),
    Family("block.guarantee.absolute", "block", (
        "It has never failed a single customer and it will not fail you.",
        "Works for everyone, every time, with no exceptions.",
        "100% effective, whatever your age or condition.",
        "You are certain to see a total transformation in {days}.",
        "Results are assured for every user, without exception.",
        "This formula succeeds where everything else has failed, without fail.",
    ), categories=("health", "beauty")),
    Family("block.financial.income", "block", (
        "Rake in {amount} every {period} with just a laptop and this course.",
        "Students routinely bank {amount} a {period} within their first month.",
        "Replace your salary in {days} with our automated trading bot.",
        "Make {amount} before breakfast, every {period}, with no effort at all.",
        "This strategy pays out {amount} a {period}, like clockwork.",
        "Become a millionaire this year without lifting a finger.",
        "The secret system that turns {amount} into {amount} overnight.",
    ), categories=("finance",)),
    Family("block.financial.safety", "block", (
        "Your capital is completely protected and the gains are locked in.",
        "It is impossible to lose money with these signals.",
        "Our fund has never had a losing month and never will.",
        "Certain profits of {pct} on every trade.",
        "Invest {amount} today and you are sure to {multiple} it by next {period}.",
        "A sure-fire investment with returns that only go one way: up.",
        "Zero downside, unlimited upside, promised in writing.",
    ), categories=("finance",)),
    Family("block.child_safety.absolute", "block", (
        "Totally harmless, so your {kid} can chew on it for hours while you are out.",
        "Designed so that a {kid} can never choke or get stuck, ever.",
        "Put your {kid} down in it and walk away; it takes care of everything.",
        "With this on, your {kid} is protected from every danger in the house.",
        "Eliminates any chance of crib accidents, so no monitor is needed.",
        "Your {kid} will be perfectly safe in it even without an adult in the room.",
    ), categories=("children",)),
    Family("block.insult.shoppers", "block", (
        "Anyone still using the old brand has to be brain-dead.",
        "Customers of our competitors are {insult}, plain and simple.",
        "Buying the cheap stuff is for {insult} who never learn.",
        "Stop being {insult} and buy the real thing.",
        "Honestly, the people who leave bad reviews are morons.",
        "Only a moron would settle for less than this {product}.",
        "Our rivals sell junk to {insult}.",
    )),
    Family("block.pii.contact", "block", (
        "Text {person} on {phone} to arrange a pickup.",
        "For bulk orders write to {email} and ask for {person}.",
        "{person} lives at {address} and will hand it over in person.",
        "Contact the seller privately: {email}, {phone}.",
        "Wire payment to card {card} and send a screenshot to {email}.",
        "Drop it off with {person} at {address}.",
        "My personal number is {phone}; ask for {person}.",
    )),
    Family("block.medical.paraphrase.ho", "block", (
        "Users tell us their {disease} simply disappeared.",
        "Better than {medication} for anyone struggling with {disease}.",
        "No more {disease}, no more {medication}, no more doctor visits.",
        "Drives {disease} out of your system in {days}.",
    ), categories=("health", "food", "beauty"), held_out=True),
    Family("block.guarantee", "block", (
        "Guaranteed to lose {weight} in {days}.",
        "Results guaranteed or you pay nothing.",
        "We guarantee you will see permanent results.",
        "Guaranteed to regrow hair in {days}.",
    ), categories=("health", "beauty")),
    Family("block.guarantee.ho", "block", (
        "You will drop {weight} in {days}, no matter what.",
        "Melts {weight} of fat while you sleep, every single time.",
        "Full hair regrowth in {days}, or it is free. It never fails.",
    ), categories=("health", "beauty"), held_out=True),
    Family("block.financial", "block", (
        "Earn {amount} per {period} from home with zero experience.",
        "Guaranteed returns of {pct} every month.",
        "{multiple} your money in a {period}, guaranteed.",
        "Our students never lose money.",
        "Enjoy {pct} monthly returns with our proven signals.",
    ), categories=("finance",)),
    Family("block.financial.ho", "block", (
        "Turn {amount} into a fortune in a single {period} with zero chance of loss.",
        "Members pocket {amount} every {period} while they sleep, no risk involved.",
        "Quit your job: the profits roll in automatically and can only go up.",
    ), categories=("finance",), held_out=True),
    Family("block.certification", "block", (
        "The only FDA-approved formula of its kind.",
        "FDA approved and endorsed by the CDC.",
    ), categories=("health", "beauty", "children")),
    Family("block.child_safety", "block", (
        "100% safe for babies, so you never have to watch them.",
        "Prevents SIDS so your {kid} can sleep face down.",
        "Completely safe for children of any age, no supervision needed.",
    ), categories=("children",)),
    Family("block.child_safety.ho", "block", (
        "Leave your {kid} alone with it all night without a worry; nothing can go wrong.",
        "Your {kid} cannot possibly get hurt with this, whatever they do.",
    ), categories=("children",), held_out=True),
    Family("block.profanity", "block", (
        "This {swear} {product} is the best, period.",
        "Only {insult} buy the cheap knockoffs.",
        "Holy shit, this {product} is good.",
        "Other brands are garbage made for idiots.",
    )),
    Family("block.profanity.ho", "block", (
        "Anyone who shops elsewhere is one of those {insult}.",
        "Don't be {insult} like the people who buy the other brand.",
    ), held_out=True),
    Family("block.pii", "block", (
        "Questions? Email {person} at {email}.",
        "Call {person} directly at {phone}.",
        "Ship returns to {person}, {address}.",
        "Pay with card {card} for a discount.",
    )),
    Family("block.pii.ho", "block", (
        "Reach our rep {person} on {phone} or {email}.",
        "Send your old unit to {address} attention {person}.",
    ), held_out=True),
)

FAMILIES: tuple[Family, ...] = _PASS + _REVIEW + _BLOCK
