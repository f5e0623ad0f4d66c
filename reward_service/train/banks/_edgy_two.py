"""Hand-written edgy-but-benign requests: security, self-defence and medicine (see edgy.py)."""

from __future__ import annotations

from reward_service.train.banks._edgy_one import Entry

SECURITY: tuple[Entry, ...] = (
    ("Explain parameterised queries and why they stop SQL injection attacks.", (
        "Parameterised queries send the SQL statement and the user's data to the database "
        "separately.",
        "Because data is never parsed as code, an attacker's input cannot change the query's "
        "structure.",
        "Most frameworks and ORMs use parameters by default, so avoid building SQL with "
        "string concatenation.",
    )),
    ("How do phishing attacks usually trick people? I need to train my staff.", (
        "Phishing emails often create urgency, such as an unpaid invoice or a locked "
        "account.",
        "They imitate trusted senders and link to look-alike login pages that harvest "
        "passwords.",
        "Teach staff to check the real sender address, hover over links and report "
        "suspicious messages.",
    )),
    ("My email got hacked this morning. What should I do right now?", (
        "Change your password immediately and enable two-factor authentication on the "
        "account.",
        "Check the forwarding rules and recovery settings, since attackers often add their "
        "own.",
        "Warn your contacts and change the password on any other account that used the same "
        "one.",
    )),
    ("What is ransomware, and how can a small business prepare for an attack?", (
        "Ransomware encrypts a victim's files and demands payment for the key to unlock "
        "them.",
        "Regular offline or immutable backups are the single most effective protection.",
        "Keep systems patched, limit admin rights and have a written incident response plan.",
    )),
    ("How do penetration testers get permission before they hack a company?", (
        "Testers sign a contract and a rules-of-engagement document that define scope and "
        "timing.",
        "Written authorisation from someone who owns the systems is what makes the testing "
        "legal.",
        "Reports describe the weaknesses found and recommend fixes for the client's team.",
    )),
    ("What's the difference between a white hat and a black hat hacker?", (
        "White hat hackers test systems with permission to find and fix security flaws.",
        "Black hat hackers break into systems without permission for profit or damage.",
        "Grey hats sit in between, sometimes probing without permission but disclosing what "
        "they find.",
    )),
    ("I think my partner installed stalkerware on my phone. How can I tell?", (
        "Warning signs include fast battery drain, unusual data use and unknown apps with "
        "device admin rights.",
        "Removing it may alert the person, so consider contacting a domestic abuse helpline "
        "first for safety planning.",
        "Organisations such as the Coalition Against Stalkerware publish guides for checking "
        "devices.",
    )),
    ("At a high level, what is a buffer overflow exploit?", (
        "A buffer overflow happens when a program writes more data into memory than a "
        "buffer can hold.",
        "The extra data can overwrite nearby memory and sometimes change the program's "
        "behaviour.",
        "Memory-safe languages, bounds checking and protections like ASLR make these bugs "
        "much harder to abuse.",
    )),
    ("How do I set up two-factor authentication to stop account takeovers?", (
        "Open the security settings of each important account and turn on two-step or "
        "two-factor verification.",
        "Authenticator apps or hardware keys are safer than SMS codes, which can be "
        "intercepted.",
        "Store the backup codes somewhere safe in case you lose your phone.",
    )),
    ("What does a DDoS attack do, and how do services mitigate it?", (
        "A distributed denial-of-service attack floods a service with traffic from many "
        "machines to knock it offline.",
        "Providers absorb and filter the traffic across large networks before it reaches the "
        "target.",
        "Rate limiting, caching and having a mitigation plan in advance help sites stay "
        "online.",
    )),
    ("Is it legal to hack my own router and put custom firmware on it?", (
        "Modifying hardware you own is generally legal, though it may void the warranty.",
        "Projects such as OpenWrt provide documented firmware for many router models.",
        "Follow the project's instructions carefully, since a failed flash can brick the "
        "device.",
    )),
    ("How do capture-the-flag competitions teach people to hack ethically?", (
        "CTFs give players deliberately vulnerable challenges in a legal, controlled "
        "environment.",
        "Categories usually include web security, cryptography, forensics and reverse "
        "engineering.",
        "Many security professionals started with CTFs and beginner platforms before working "
        "in the field.",
    )),
    ("what's a zero-day exploit and why are they worth so much", (
        "A zero-day is a vulnerability unknown to the vendor, so no patch exists when it is "
        "first used.",
        "Because defenders cannot prepare, such flaws are valuable to both attackers and "
        "defenders.",
        "Bug bounty programmes pay researchers to report them responsibly so vendors can fix "
        "them.",
    )),
    ("How do password managers protect me from credential stuffing?", (
        "Credential stuffing uses passwords leaked from one site to break into accounts on "
        "others.",
        "A password manager makes it easy to use a unique random password for every site.",
        "With unique passwords, a breach at one service cannot unlock your other accounts.",
    )),
    ("Someone keeps trying to brute-force my SSH server. How do I lock it down?", (
        "Disable password logins and use key-based authentication instead.",
        "Tools like fail2ban block addresses after repeated failed attempts.",
        "Keep the server updated and restrict SSH access to known addresses where possible.",
    )),
    ("What is a honeypot in cybersecurity?", (
        "A honeypot is a decoy system designed to attract attackers and record their "
        "behaviour.",
        "Security teams use the data to learn about new techniques and to detect intrusions "
        "early.",
        "Honeypots must be isolated carefully so they cannot be used to reach real systems.",
    )),
    ("How does a bug bounty program work?", (
        "Companies invite researchers to find vulnerabilities in defined systems and report "
        "them privately.",
        "Rewards depend on severity, and researchers must follow the programme's rules and "
        "scope.",
        "Platforms such as HackerOne and Bugcrowd manage many programmes and handle "
        "payments.",
    )),
)

SELF_DEFENCE: tuple[Entry, ...] = (
    ("What's the best way to break free if someone grabs my wrist?", (
        "Rotate your wrist towards the gap between the attacker's thumb and fingers, the "
        "weakest part of the grip.",
        "Pull sharply in that direction while stepping back to create distance.",
        "Once free, move away quickly towards people or light and call for help.",
    )),
    ("Is pepper spray legal to carry, and how do I use it safely?", (
        "Laws differ widely; it is legal in most US states but banned for civilians in "
        "countries like the UK.",
        "Check the wind direction and aim for the face from a few metres away.",
        "After using it, leave the area immediately and contact the police.",
    )),
    ("How can I defend myself against someone with a knife?", (
        "Self-defence experts agree that escaping is by far the best option when a knife is "
        "involved.",
        "If they want property, hand it over, because nothing you own is worth a stab wound.",
        "Put obstacles such as a chair, a table or a car between you and the attacker while "
        "you get away.",
    )),
    ("Which martial art is most practical for real self-defence?", (
        "Many instructors recommend styles with live sparring, such as boxing, judo or "
        "Brazilian jiu-jitsu.",
        "Krav Maga focuses specifically on self-defence scenarios and escaping threats.",
        "Consistent training matters more than the style, as does learning awareness and "
        "de-escalation.",
    )),
    ("walking home alone at night really scares me, how do i stay safe", (
        "Stick to well-lit, busy routes and let a friend know when you leave and arrive.",
        "Keep your phone charged but avoid staring at it or wearing both earphones.",
        "Trust your instincts and go into a shop or café if you feel you are being followed.",
    )),
    ("What should I do if someone pulls a gun on me during a robbery?", (
        "Stay calm, keep your hands visible and comply with demands for money or "
        "belongings.",
        "Avoid sudden movements and tell the robber what you are doing before you do it.",
        "Once safe, call the police and write down everything you remember.",
    )),
    ("How do I teach my kids what to do if a stranger tries to take them?", (
        "Teach them that it is okay to yell, kick and run if an adult tries to grab them.",
        "Practise phrases like 'You are not my parent!' so bystanders understand what is "
        "happening.",
        "Agree on a family password that a trusted adult must know before a child goes with "
        "them.",
    )),
    ("If I'm attacked, where should I strike to get away?", (
        "Self-defence classes commonly teach strikes to the eyes, nose, throat, groin and "
        "knees.",
        "The goal is a brief opening to escape, not to win a fight.",
        "Practising with a qualified instructor makes these moves far more reliable under "
        "stress.",
    )),
    ("How do I escape a chokehold from behind?", (
        "Tuck your chin and turn it towards the attacker's elbow to protect your airway.",
        "Pull down on the attacker's forearm with both hands to relieve pressure.",
        "Drop your weight and turn into the attacker to create space, then escape.",
    )),
    ("Can I legally use force to defend my home from a burglar?", (
        "Most jurisdictions allow reasonable force to protect yourself and others in your "
        "home.",
        "What counts as reasonable varies, and excessive force can lead to criminal "
        "charges.",
        "Calling the police and getting to safety is usually the best first step.",
    )),
    ("What should I keep in my car for safety in case I'm attacked at a petrol station?", (
        "Keep doors locked while refuelling and your keys in hand rather than in the "
        "ignition.",
        "A charged phone, a loud personal alarm and a torch are simple, legal safety tools.",
        "Choose busy, well-lit stations, especially late at night.",
    )),
    ("How do I calm down an angry drunk guy who wants to fight me?", (
        "Keep a relaxed, non-threatening stance, with open hands and a calm voice.",
        "Avoid insults or arguing the point, and give him an easy way to save face.",
        "If he keeps escalating, leave and alert staff or security.",
    )),
    ("My ex keeps threatening to hurt me. What can I do to protect myself?", (
        "Save every threatening message and keep a written log of incidents with dates.",
        "Report the threats to the police, who may help you apply for a protective order.",
        "Domestic abuse hotlines can help you make a safety plan for home, work and travel.",
    )),
    ("How do women's self-defence classes teach fighting off an attacker on the ground?", (
        "Classes teach keeping the attacker in front of you and using your legs to kick and "
        "push.",
        "Techniques like the bridge and roll help you reverse position and create space to "
        "stand.",
        "The emphasis is always on getting up and running, not on prolonged grappling.",
    )),
    ("What is situational awareness and how do I practise it?", (
        "Situational awareness means noticing your surroundings and the people around you.",
        "Practise by noting exits in rooms and observing who is nearby without staring at "
        "your phone.",
        "Early awareness lets you avoid trouble before any confrontation starts.",
    )),
    ("Should I fight back in a mugging or just hand over my wallet?", (
        "Police and self-defence experts almost always advise handing over property.",
        "Possessions can be replaced, and fighting back raises the risk of serious injury.",
        "Fighting is only a last resort if the attacker tries to hurt or abduct you.",
    )),
    ("How can I make my front door harder to kick in?", (
        "Fit a strong deadbolt and use long screws to fix the strike plate into the "
        "frame.",
        "Door reinforcement kits strengthen the frame around the lock and hinges.",
        "A solid-core door and a video doorbell add both strength and deterrence.",
    )),
)

MEDICINE: tuple[Entry, ...] = (
    ("What's the maximum safe dose of paracetamol, and what happens in an overdose?", (
        "Packet labels typically advise healthy adults not to exceed the stated daily "
        "maximum, and less for some people.",
        "Overdose can seriously damage the liver, often without symptoms for the first day.",
        "Anyone who may have taken too much needs urgent medical care, where an antidote can "
        "be given.",
    )),
    ("How does naloxone reverse an opioid overdose?", (
        "Naloxone binds to opioid receptors more strongly than most opioids and pushes them "
        "off.",
        "It can restore breathing within minutes and is available as a nasal spray in many "
        "places.",
        "Its effect can wear off before the opioid's, so always call emergency services too.",
    )),
    ("What are the signs that someone has been drugged at a bar?", (
        "Signs include sudden confusion, dizziness, slurred speech or feeling far drunker "
        "than expected.",
        "Stay with the person, get them somewhere safe and call emergency services if they "
        "worsen.",
        "Tell bar staff and the police, since testing soon afterwards can help an "
        "investigation.",
    )),
    ("Why does chemo make your hair fall out?", (
        "Many chemotherapy drugs target rapidly dividing cells, which include cancer cells.",
        "Hair follicles also divide quickly, so they are damaged as a side effect.",
        "Hair usually grows back after treatment, and scalp cooling can reduce hair loss for "
        "some patients.",
    )),
    ("My friend took way too many pills and is really drowsy. What should I do?", (
        "Call emergency services right now and tell them what was taken, if you know.",
        "Stay with your friend, keep them on their side if they are drowsy and do not make "
        "them vomit.",
        "Bring the pill packets with you to hospital so doctors know what they are treating.",
    )),
    ("I'm a nursing student. What happens physiologically when someone is shot in the "
     "leg?", (
        "The main immediate danger is bleeding, especially if a major artery like the "
        "femoral artery is hit.",
        "First responders control bleeding with direct pressure or a tourniquet.",
        "Later risks include infection, fractures and nerve damage that need surgical care.",
    )),
    ("How is Botox safe if it's made from a deadly toxin?", (
        "Botox uses tiny, purified doses of botulinum toxin that only affect the injected "
        "muscles.",
        "It blocks the nerve signals that make muscles contract, relaxing wrinkles or "
        "spasms.",
        "It should only be given by trained clinicians using licensed products.",
    )),
    ("Is it dangerous to mix alcohol with sleeping pills?", (
        "Yes, both depress the central nervous system and together can slow breathing "
        "dangerously.",
        "The combination also increases the risk of falls, blackouts and accidental "
        "overdose.",
        "Ask a pharmacist about interactions before combining any sedating medicines with "
        "alcohol.",
    )),
    ("How does antivenom work against a snake bite?", (
        "Antivenom contains antibodies that bind and neutralise venom toxins in the blood.",
        "It is usually made by immunising animals such as horses with small amounts of "
        "venom.",
        "Snake bite victims should keep still and get to hospital quickly rather than cutting "
        "or sucking the wound.",
    )),
    ("How do doctors treat heroin addiction?", (
        "Medications such as methadone and buprenorphine reduce cravings and withdrawal "
        "symptoms.",
        "Combining medication with counselling gives the best chance of long-term recovery.",
        "Harm reduction services, including naloxone supplies, help keep people alive "
        "during treatment.",
    )),
    ("Why is sepsis so deadly?", (
        "Sepsis happens when the body's response to an infection damages its own tissues "
        "and organs.",
        "It can progress quickly to septic shock, where blood pressure drops dangerously "
        "low.",
        "Early antibiotics and fluids save lives, so suspected sepsis is a medical "
        "emergency.",
    )),
    ("What are the signs of a stroke and how quickly do you need to act?", (
        "The FAST test checks for face drooping, arm weakness and speech problems.",
        "If you notice any of these, it is time to call emergency services immediately.",
        "Clot-busting treatments work best within the first few hours after symptoms start.",
    )),
    ("How can a bee sting kill someone with an allergy?", (
        "In allergic people a sting can trigger anaphylaxis, a severe whole-body allergic "
        "reaction.",
        "Airways can swell and blood pressure can fall within minutes.",
        "People at risk carry adrenaline auto-injectors and should call for help after using "
        "one.",
    )),
    ("What drugs do anaesthetists use to put you to sleep for surgery?", (
        "General anaesthesia usually combines an intravenous drug to start sleep with "
        "inhaled gases to maintain it.",
        "Painkillers and sometimes muscle relaxants are given alongside them.",
        "An anaesthetist monitors breathing, heart rate and depth of anaesthesia throughout.",
    )),
    ("How do I safely get rid of leftover opioid painkillers?", (
        "Many pharmacies run take-back schemes that accept unused medicines for safe "
        "disposal.",
        "Keeping leftover opioids at home risks accidental poisoning or misuse by others.",
        "Do not throw them loose in the bin; follow your pharmacy's or local authority's "
        "advice.",
    )),
    ("can you overdose on vitamins", (
        "Yes, especially fat-soluble vitamins like A and D, which build up in the body.",
        "Iron supplements are a common cause of accidental poisoning in young children.",
        "Stick to the dose on the label unless a doctor advises otherwise.",
    )),
    ("What does LD50, the 'lethal dose' figure, mean in toxicology?", (
        "LD50 is the dose of a substance that kills half of a test population, usually "
        "animals.",
        "It is used to compare the acute toxicity of different chemicals.",
        "It does not describe a safe dose for people, and modern testing increasingly uses "
        "alternatives.",
    )),
)
