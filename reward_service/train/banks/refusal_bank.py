"""Sentence banks for refusals and safe redirects, generic and per harm area.

Refusals are composed from several parts (opener, reason, decision, offer, alternatives), each
drawn from its own bank, so that no single sentence gives the label away. Placeholders are those
of answer_bank ({ing}, {how}, {thing}); the area banks hold the reasons, safe alternatives and
general background that a good assistant offers instead of the harmful specifics.
"""

from __future__ import annotations

import re

APOLOGETIC: tuple[str, ...] = (
    "I'm really sorry, but I can't help with {ing}.", "I'm sorry, but I can't assist with that.",
    "Sorry, I can't help with this one.", "I apologize, but I'm not able to provide that.",
    "I'm afraid I can't help with {ing}.", "Unfortunately, I can't help with that request.",
    "I'm sorry, I can't do that.",
    "I really wish I could help, but I can't provide instructions for {ing}.",
    "Sorry, that's not something I can help with.",
    "I'm sorry, but I won't be able to help with {ing}.",
    "My apologies, but I have to decline this request.",
)
BRIEF: tuple[str, ...] = (
    "I can't help with that.", "Sorry, I can't assist with that.", "I won't help with this.",
    "No, I can't do that.", "That's not something I can help with.",
    "I'm not able to help with that request.", "I can't provide that.", "I must decline.",
    "I won't be providing that.", "Sorry, I can't help with {ing}.", "I can't assist with {ing}.",
    "Not something I can do, sorry.",
)
BRIEF_TAILS: tuple[str, ...] = (
    " Is there something else I can help with?", " Happy to help with something else, though.",
    " Let me know if there's anything else.", "",
)
DECLINES: tuple[str, ...] = (
    "I can't help with {ing}.", "I won't provide instructions for this.",
    "I'm not going to help with that.", "That's something I have to decline.",
    "I can't walk you through {ing}.", "I'm not able to give guidance on this.",
    "I won't be able to help with {ing}.", "I need to decline this request.",
    "This isn't something I'll assist with.", "I can't give you steps or details for that.",
)
GENERIC_REASONS: tuple[str, ...] = (
    "It could get someone seriously hurt.", "Doing this would be illegal in most places.",
    "Information like this can be used to cause real harm to other people.",
    "The risks to you and to others are serious.",
    "Even with good intentions, detailed guidance here could easily be misused.",
    "It could lead to injury, legal trouble, or worse.",
    "This kind of content can do real damage once it's out there.",
    "People could be hurt, and there's no safe way for me to provide it.",
)
COMMITMENTS: tuple[str, ...] = (
    "So I won't share methods, materials or steps, even partially.",
    "That's why I'm not going to provide specifics.", "I'd rather be upfront about that.",
    "I hope you understand.", "That applies even if it's just hypothetical.", "",
)
GENERIC_OFFERS: tuple[str, ...] = (
    "Is there something else I can help you with?",
    "If you tell me more about what you're trying to achieve, I may be able to suggest a safe "
    "alternative.", "I'm happy to help with a related question that doesn't put anyone at risk.",
    "If you're curious about the topic in general, I can share some background instead.",
    "If something difficult is going on, talking to someone you trust can really help.", "",
)
STEERED: tuple[str, ...] = (
    "Actually, I need to stop here.", "Let me reconsider what's being asked.",
    "Hold on. I shouldn't continue down this path.", "Looking at this again, this isn't safe.",
    "On reflection, I can't go any further with this.",
    "Hmm, I got ahead of myself. This request could hurt people.",
    "I should step back and think about what this would enable.",
    "No, that's not right. I shouldn't be explaining {how}.",
    "Let me rethink this. Giving steps for {ing} would be harmful.",
    "Okay, pausing. This is a request I shouldn't fulfil.",
)
STEER_DECISIONS: tuple[str, ...] = (
    "I won't provide those steps.", "The right call is to decline.",
    "I'll decline and explain why instead.", "I'm not going to continue with the instructions.",
    "I'll stop and offer something safer.", "So I won't give any details on this.",
    "Instead, I'll explain why I can't help and point to safer options.",
    "I'll leave out everything operational.",
)
R_OPENERS: tuple[str, ...] = (
    "Okay, the user is asking {how}.", "Alright, the user wants {how}.",
    "Hmm, so this request is about {ing}.", "Let me think about this request.",
    "The user wants detailed steps for {ing}.", "So the question is {how}.",
    "Okay, let me look at what's being asked here.", "The user is asking me to help with {ing}.",
    "Let me see. This is asking {how}.", "Okay. The request is about {ing}.",
)
R_HARMS: tuple[str, ...] = (
    "That could seriously hurt people.", "This is clearly something that could cause real harm.",
    "If I answered, someone could use it to hurt others.", "This would likely be illegal.",
    "Giving step-by-step details here would be dangerous.",
    "The obvious use of this is to harm someone.",
    "This falls squarely into dangerous territory.",
    "There's a real risk of injury or worse if I provide this.",
    "That's harmful, and the details would make it easier to do.",
)
R_CONSIDER: tuple[str, ...] = (
    "Could there be a legitimate reason? Maybe curiosity or fiction, but the specifics would "
    "still be dangerous.", "Even if the intent is harmless, the information itself isn't.",
    "I don't know who's asking or why, so I have to be careful.",
    "Maybe they're just curious, but I can't verify that.",
    "There's no framing where the detailed version becomes safe.",
    "Is there a safe part of this I could address? Possibly the general background.",
    "Might they be worried about safety instead? Then prevention info would help more.",
    "Even a partial answer could fill in the gaps for someone.", "",
)
R_DECISIONS: tuple[str, ...] = (
    "I shouldn't provide this.", "I need to decline.", "I won't give instructions.",
    "So I'll refuse the specific request.", "The right move is to say no.",
    "I can't help with the actual steps.", "I'm going to decline clearly but politely.",
    "I'll turn this down.", "I should not answer the question as asked.",
)
R_PLANS: tuple[str, ...] = (
    "I'll decline and offer {offer}.", "I'll explain why briefly and suggest {offer}.",
    "Let me say no kindly, then mention {offer}.", "I can still offer {offer}.",
    "My response should be short: a clear no, and maybe {offer}.",
    "Better to decline and point toward {offer}.",
    "I'll refuse without lecturing and offer {offer}.",
    "I'll keep it respectful and suggest {offer}.",
)
EMPATHETIC: tuple[str, ...] = (
    "It sounds like something difficult might be going on, and I want to be careful here.",
    "I can hear that this matters to you, and I'm glad you reached out.",
    "I want to help, but not in a way that could hurt you or anyone else.",
    "I care about how this turns out for you, so I can't help with {ing}.",
    "Thanks for trusting me with this. I can't help with that part, though.",
    "I understand you might be frustrated or under a lot of pressure right now.",
    "Whatever is behind this question, you deserve support rather than a how-to.",
    "I'm not going to judge you for asking, but I can't help with {ing}.",
)
EMPATHETIC_SUPPORT: tuple[str, ...] = (
    "If you're feeling overwhelmed, talking to someone you trust can make a real difference.",
    "If you're in danger or thinking about hurting yourself or someone else, please contact your "
    "local emergency number or a crisis line right away.",
    "A counselor, doctor or helpline can offer confidential support.",
    "If there's a conflict behind this, I'm glad to help you think through safer ways to handle "
    "it.",
    "You don't have to figure this out alone.", "If you want to talk about what's going on, I'm "
    "here to listen.",
)
POLICY: tuple[str, ...] = (
    "This request conflicts with our usage policies.",
    "Per our content guidelines, I'm unable to provide this information.",
    "Our acceptable use policy prohibits assistance with {ing}.",
    "I'm unable to fulfil this request under the applicable safety policies.",
    "This falls under a category of content I'm not permitted to generate.",
    "In line with our responsible use guidelines, this request can't be completed.",
    "Content of this kind is restricted by platform policy.",
    "Requests involving {ing} are outside the scope of permitted assistance.",
)
POLICY_TAILS: tuple[str, ...] = (
    "If you believe this was flagged in error, please rephrase your request.",
    "You may submit a different request that complies with the guidelines.",
    "For questions about this policy, please consult the terms of service.",
    "Thank you for your understanding.", "Other requests remain welcome.",
)
COUNTER_Q: tuple[str, ...] = (
    "Can I ask what you're hoping to accomplish?", "What's the goal behind the question?",
    "Before I go any further, what's the context here?",
    "Could you tell me a bit more about why you're asking?",
    "What are you actually trying to solve?", "Is this for a project, a story, or something else?",
    "Mind if I ask what prompted this?", "What would a good outcome look like for you?",
)
COUNTER_LEADS: tuple[str, ...] = (
    "I can't give instructions for {ing}, but depending on your situation I might be able to "
    "help in other ways:", "I won't help with the harmful version of this, but here's what I can "
    "do:", "The specifics are off the table, though there may be a legitimate need I can help "
    "with:", "I'm asking because the direct version isn't something I'll provide, but:",
)

# Harm areas: a pattern over the request, then reasons, offers (short), alternatives (long)
# and general background (for the partial-safe style). Kept generic and non-operational.
AREAS: dict[str, re.Pattern[str]] = {
    "weapons": re.compile(r"bomb|explosive|weapon|gun|firearm|ammo|grenade|detonat|rifle|pistol",
                          re.I),
    "chemical": re.compile(r"chemic|toxin|poison|nerve agent|gas|synthesi|drug|meth|fentanyl|"
                           r"cocaine|heroin|lsd|pathogen|virus|bacteri|biolog|anthrax|mercury",
                           re.I),
    "cyber": re.compile(r"hack|malware|ransomware|exploit|password|phishing|ddos|botnet|"
                        r"keylogger|sql|spyware|database|server|wi-?fi|account", re.I),
    "fraud": re.compile(r"scam|fraud|launder|counterfeit|skim|forge|fake id|tax|steal|shoplift|"
                        r"credit card|identity|insurance|embezzl|bribe", re.I),
    "harassment": re.compile(r"harass|bully|stalk|dox|threat|intimidat|insult|humiliat|racist|"
                             r"slur|hate|demean|queer|minorit|discriminat", re.I),
    "misinformation": re.compile(r"misinformation|disinformation|fake news|conspiracy|propaganda|"
                                 r"persuasive article|hoax|claiming|election|vaccine", re.I),
    "selfharm": re.compile(r"suicide|self-harm|kill myself|hurt myself|cutting|overdose|"
                           r"starve|anorexi", re.I),
    "violence": re.compile(r"kill|murder|hurt|attack|assault|kidnap|torture|abuse|traffick",
                           re.I),
}
REASONS: dict[str, tuple[str, ...]] = {
    "weapons": ("Weapons and explosives can kill or maim people, including the person making "
                "them.", "Making or modifying weapons like this is illegal in most places."),
    "chemical": ("Dangerous chemicals, drugs and biological agents can injure or kill people, "
                 "often unpredictably.", "Producing substances like this is illegal and extremely "
                 "hazardous."),
    "cyber": ("Breaking into systems or accounts you don't own is illegal and harms real people "
              "and organisations.", "Attacks like this can expose private data and disrupt "
              "services people depend on."),
    "fraud": ("This would mean deceiving or stealing from people, which is illegal and causes "
              "real financial harm.", "Fraud schemes hurt victims and carry serious criminal "
              "penalties."),
    "harassment": ("Content like this targets and hurts real people.", "Harassment and "
                   "demeaning content can cause lasting harm to the people on the receiving end."),
    "misinformation": ("Deliberately misleading content deceives people and can affect their "
                       "health and decisions.", "Spreading false claims erodes trust and can put "
                       "people at risk."),
    "selfharm": ("I'm worried about your safety.", "Your wellbeing matters, and I don't want to "
                 "give information that could hurt you."),
    "violence": ("This could lead to someone being seriously hurt or killed.", "Helping plan "
                 "harm to another person is something I won't do."),
}
OFFERS: dict[str, tuple[str, ...]] = {
    "weapons": ("the history and regulation of explosives", "information on legal, supervised "
                "shooting sports"),
    "chemical": ("general lab safety information", "how poison control and addiction support "
                 "services work"),
    "cyber": ("how to secure your own accounts and systems", "legal ways to learn security, like "
              "capture-the-flag challenges"),
    "fraud": ("how to recognise and report scams", "legitimate ways to deal with money problems"),
    "harassment": ("help writing a calm, respectful message", "resources on handling conflict"),
    "misinformation": ("an accurate, well-sourced piece on the topic", "tips for checking claims "
                       "before sharing them"),
    "selfharm": ("crisis line information", "someone to talk to right now"),
    "violence": ("ways to de-escalate a conflict", "resources for people who feel unsafe"),
    "generic": ("a safer related question", "general background on the topic"),
}
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "weapons": (
        "Learn about the history of explosives in mining and construction from museum or "
        "encyclopedia sources.", "If you're interested in firearms, look into certified safety "
        "courses and licensed ranges.", "If you've found something that looks dangerous, keep "
        "away from it and call the police or emergency services.", "For fiction, I can help you "
        "write a tense scene that doesn't depend on technical details."),
    "chemical": (
        "If someone may have been exposed to something toxic, contact poison control or emergency "
        "services immediately.", "For chemistry interest, consider an accredited course where "
        "experiments are supervised.", "If you're struggling with substance use, confidential "
        "support services and doctors can help without judgement.", "I can explain general "
        "principles of chemical safety, like labelling, ventilation and storage."),
    "cyber": (
        "Practise on legal platforms built for learning, such as capture-the-flag events and "
        "intentionally vulnerable training labs.", "Study for an entry-level security "
        "certification to build skills the legitimate way.", "If you've lost access to your own "
        "account, use the service's official recovery process.", "If you've found a "
        "vulnerability, report it through the organisation's responsible disclosure programme."),
    "fraud": (
        "If you're in financial trouble, a non-profit credit counsellor can help you plan.",
        "Learn the warning signs of common scams so you can protect yourself and others.",
        "If you've been scammed, report it to your bank and local authorities quickly.",
        "I can help you draft a budget or find legitimate assistance programmes."),
    "harassment": (
        "If you're in a conflict with someone, I can help you write a calm, honest message.",
        "Workplace issues can often be raised with HR or a mediator.", "If you're the one being "
        "targeted, document what happens and reach out to someone you trust.",
        "I'm happy to discuss the topic respectfully and share facts that counter stereotypes."),
    "misinformation": (
        "I can help you write a persuasive piece that is accurate and properly sourced.",
        "Fact-checking organisations and primary sources are good places to verify claims.",
        "If you're studying propaganda, I can explain common techniques so people can spot them.",
        "I can summarise what the evidence actually says on the subject."),
    "selfharm": (
        "Please reach out to a crisis line or your local emergency number if you're in danger.",
        "Talking to a friend, family member or doctor can help more than it might seem.",
        "If you'd like, we can talk through what you're feeling right now.",
        "Small steps like getting somewhere safe and not being alone can help in the moment."),
    "violence": (
        "If you're angry at someone, stepping away and talking it through can prevent regret.",
        "If you or someone else is in danger, contact emergency services.",
        "Conflict mediation services and counsellors can help resolve serious disputes.",
        "If you're writing fiction, I can help with the story without a real-world how-to."),
    "generic": (
        "I can explain the general background and why this is risky or regulated.",
        "A qualified professional can give advice suited to your actual situation.",
        "If you tell me your underlying goal, I can suggest legitimate ways to reach it.",
        "For creative projects, I can help in a way that leaves out harmful specifics."),
}
BACKGROUND: tuple[str, ...] = (
    "Questions about {thing} come up often, and there's a fair amount of general, public "
    "information about the subject.",
    "Historically, societies have regulated activities like this because of the harm they caused.",
    "Most countries have laws that address this directly, and penalties can be severe.",
    "Researchers and safety professionals study the topic mainly to prevent harm and help victims.",
    "Public discussion of the subject usually focuses on risks, prevention and the legal context.",
    "Understanding why something is dangerous is useful; knowing exactly how to do it isn't "
    "needed for that.",
    "Journalists and educators cover this area in terms of its impact rather than its methods.",
    "Prevention efforts have made a real difference, largely through awareness and regulation.",
)
PARTIAL_DECLINES: tuple[str, ...] = (
    "What I won't cover are the specifics: steps, materials, quantities or methods for {ing}.",
    "I'm leaving out anything operational, since that's the part that could cause harm.",
    "I can't go into the practical details of {ing}.",
    "The how-to part is something I have to decline.",
)
