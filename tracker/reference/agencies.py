"""Agencies and offices that fund anti-trafficking programs, with the names people write for them.

Source: DOMAIN.md (the GAO chapter's Table 1 and the offices named there). Administrators add
more through the alias tables; this is the seed.
"""

from __future__ import annotations

#: code → (name, aliases)
AGENCIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "DOS": ("Department of State", (
        "State", "State Department", "Department of State", "U.S. Department of State",
        "US Department of State", "Dept of State", "Dept. of State", "DoS", "State Dept",
        "State Dept.", "USDOS",
    )),
    "USAID": ("U.S. Agency for International Development", (
        "USAID", "U.S. Agency for International Development", "Agency for International Development",
        "US Agency for International Development", "AID",
    )),
    "DOL": ("Department of Labor", (
        "Labor", "DOL", "Department of Labor", "U.S. Department of Labor", "US Department of Labor",
        "Dept of Labor", "Dept. of Labor", "USDOL", "Labor Department",
    )),
    "DOJ": ("Department of Justice", (
        "Justice", "DOJ", "Department of Justice", "U.S. Department of Justice",
        "US Department of Justice", "Dept of Justice", "Dept. of Justice", "USDOJ",
        "Justice Department",
    )),
    "HHS": ("Department of Health and Human Services", (
        "HHS", "Health and Human Services", "Department of Health and Human Services",
        "U.S. Department of Health and Human Services", "DHHS",
    )),
    "DHS": ("Department of Homeland Security", (
        "DHS", "Homeland Security", "Department of Homeland Security",
        "U.S. Department of Homeland Security",
    )),
    "DOD": ("Department of Defense", (
        "DOD", "DoD", "Defense", "Department of Defense", "U.S. Department of Defense",
        "Defense Department", "Pentagon",
    )),
    "ED": ("Department of Education", (
        "ED", "Education", "Department of Education", "U.S. Department of Education",
        "Dept of Education", "DOEd",
    )),
}

#: (agency, code, name, kind, aliases). Aliases are unique across all offices; text that names the
#: agency first ("State/INL", "DOS-INL", "Labor-ILAB") is read by splitting off the agency, so it
#: need not be listed here.
OFFICES: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("DOS", "G/TIP", "Office to Monitor and Combat Trafficking in Persons", "office", (
        "G/TIP", "GTIP", "G-TIP", "TIP Office", "J/TIP", "JTIP",
        "Office to Monitor and Combat Trafficking in Persons",
        "Trafficking in Persons Office", "State TIP Office", "State - TIP Office",
    )),
    ("DOS", "INL", "Bureau of International Narcotics and Law Enforcement Affairs", "bureau", (
        "INL", "Bureau of International Narcotics and Law Enforcement Affairs",
        "International Narcotics and Law Enforcement Affairs", "International Narcotics and Law Enforcement",
        "INL Bureau",
    )),
    ("DOS", "PRM", "Bureau of Population, Refugees, and Migration", "bureau", (
        "PRM", "Bureau of Population, Refugees, and Migration", "Population, Refugees, and Migration",
        "Population Refugees and Migration", "PRM Bureau",
    )),
    ("DOS", "DRL", "Bureau of Democracy, Human Rights, and Labor", "bureau", (
        "DRL", "Bureau of Democracy, Human Rights, and Labor", "Democracy, Human Rights, and Labor",
        "Democracy Human Rights and Labor", "DRL Bureau",
    )),
    ("DOS", "DS", "Bureau of Diplomatic Security", "bureau", (
        "DS", "Diplomatic Security", "Bureau of Diplomatic Security", "DS Bureau",
    )),
    ("DOS", "AF", "Bureau of African Affairs", "bureau", ("Bureau of African Affairs", "African Affairs", "State/AF")),
    ("DOS", "EAP", "Bureau of East Asian and Pacific Affairs", "bureau", (
        "EAP", "Bureau of East Asian and Pacific Affairs", "East Asian and Pacific Affairs")),
    ("DOS", "EUR", "Bureau of European and Eurasian Affairs", "bureau", (
        "EUR", "Bureau of European and Eurasian Affairs", "European and Eurasian Affairs", "EUR/ACE",
        "Office of the Coordinator of U.S. Assistance to Europe and Eurasia")),
    ("DOS", "NEA", "Bureau of Near Eastern Affairs", "bureau", (
        "NEA", "Bureau of Near Eastern Affairs", "Near Eastern Affairs", "MEPI", "Middle East Partnership Initiative")),
    ("DOS", "SCA", "Bureau of South and Central Asian Affairs", "bureau", (
        "SCA", "Bureau of South and Central Asian Affairs", "South and Central Asian Affairs")),
    ("DOS", "WHA", "Bureau of Western Hemisphere Affairs", "bureau", (
        "WHA", "Bureau of Western Hemisphere Affairs", "Western Hemisphere Affairs")),
    ("DOS", "POST", "Embassy (post-funded programs)", "post", (
        "Embassy", "U.S. Embassy", "US Embassy", "Post", "State (post)", "DOS (post)",
        "Embassy small grants", "Public Affairs Section", "PAS", "Self-Help", "Self-Help Program",
        "Democracy Commission", "Embassy Public Diplomacy", "Public Diplomacy", "Public diplomacy small grant",
        "Public diplomacy small grants", "PD small grants", "Small grants", "Small grant", "Post small grants",
        "Ambassador's Special Self-Help", "Ambassador's Self-Help Fund", "Ambassador's Fund", "Post funds",
        "Post-funded", "Embassy funds", "Mission funds (State)", "Public Affairs", "Public Diplomacy Section",
    )),
    ("USAID", "MISSION", "USAID country mission", "mission", (
        "USAID Mission", "Mission", "USAID field mission", "USAID country mission",
    )),
    ("USAID", "AFR", "Bureau for Africa", "bureau", ("USAID/AFR", "Bureau for Africa", "USAID Africa Bureau")),
    ("USAID", "ANE", "Bureau for Asia and the Near East", "bureau", (
        "USAID/ANE", "Bureau for Asia and the Near East", "Asia and Near East Bureau",
    )),
    ("USAID", "E&E", "Bureau for Europe and Eurasia", "bureau", (
        "USAID/E&E", "USAID/EE", "Bureau for Europe and Eurasia", "Europe and Eurasia Bureau",
    )),
    ("USAID", "LAC", "Bureau for Latin America and the Caribbean", "bureau", (
        "USAID/LAC", "Bureau for Latin America and the Caribbean",
    )),
    ("USAID", "DCHA", "Bureau for Democracy, Conflict and Humanitarian Assistance", "bureau", (
        "USAID/DCHA", "DCHA", "Bureau for Democracy, Conflict and Humanitarian Assistance",
    )),
    ("USAID", "EGAT", "Bureau for Economic Growth, Agriculture and Trade", "bureau", (
        "USAID/EGAT", "EGAT", "Bureau for Economic Growth, Agriculture and Trade",
    )),
    ("USAID", "RDMA", "Regional Development Mission for Asia", "mission", (
        "USAID/RDMA", "RDMA", "Regional Development Mission for Asia", "Regional Development Mission Asia",
    )),
    ("USAID", "EA", "East Africa regional mission", "mission", ("USAID/EA", "USAID/East Africa", "USAID East Africa")),
    ("USAID", "WA", "West Africa regional mission", "mission", ("USAID/WA", "USAID/West Africa", "USAID West Africa")),
    ("USAID", "SA", "Southern Africa regional mission", "mission", (
        "USAID/SA", "USAID/Southern Africa", "USAID Southern Africa", "RCSA",
    )),
    ("USAID", "CAR", "Central Asian Republics regional mission", "mission", (
        "USAID/CAR", "USAID/Central Asia", "USAID Central Asian Republics",
    )),
    ("DOL", "ILAB", "Bureau of International Labor Affairs", "bureau", (
        "ILAB", "Bureau of International Labor Affairs", "International Labor Affairs",
        "Bureau of International Labour Affairs", "OCFT",
        "Office of Child Labor, Forced Labor, and Human Trafficking",
    )),
    ("DOL", "ETA", "Employment and Training Administration", "office", (
        "ETA", "Employment and Training Administration",
    )),
    ("DOL", "ESA", "Employment Standards Administration", "office", (
        "ESA", "Employment Standards Administration", "Wage and Hour Division", "WHD",
    )),
    ("DOJ", "CRM", "Criminal Division", "office", (
        "CRM", "Criminal Division", "DOJ Criminal Division", "CEOS",
        "Child Exploitation and Obscenity Section", "HRSP", "Human Rights and Special Prosecutions Section",
    )),
    ("DOJ", "OPDAT", "Office of Overseas Prosecutorial Development, Assistance and Training", "office", (
        "OPDAT", "Office of Overseas Prosecutorial Development, Assistance and Training",
        "Overseas Prosecutorial Development, Assistance and Training",
    )),
    ("DOJ", "ICITAP", "International Criminal Investigative Training Assistance Program", "office", (
        "ICITAP", "International Criminal Investigative Training Assistance Program",
    )),
    ("DOJ", "FBI", "Federal Bureau of Investigation", "office", ("FBI", "Federal Bureau of Investigation")),
    ("DOJ", "CRT", "Civil Rights Division", "office", (
        "CRT", "Civil Rights Division", "Civil Rights", "Criminal Section, Civil Rights Division",
        "HTPU", "Human Trafficking Prosecution Unit",
    )),
    ("DOJ", "OJP", "Office of Justice Programs", "office", (
        "OJP", "Office of Justice Programs", "Office for Victims of Crime", "OVC",
        "Bureau of Justice Assistance", "BJA", "National Institute of Justice", "NIJ",
    )),
    ("DOJ", "USAO", "U.S. Attorneys' Offices", "office", (
        "USAO", "U.S. Attorneys", "US Attorneys", "U.S. Attorneys' Offices", "U.S. Attorney's Office",
        "EOUSA", "Executive Office for United States Attorneys",
    )),
    ("DHS", "ICE", "Immigration and Customs Enforcement", "office", (
        "ICE", "Immigration and Customs Enforcement", "U.S. Immigration and Customs Enforcement",
        "ICE Office of International Affairs",
        "HSI", "Homeland Security Investigations",
    )),
    ("DHS", "USCIS", "Citizenship and Immigration Services", "office", (
        "USCIS", "CIS", "Citizenship and Immigration Services", "U.S. Citizenship and Immigration Services",
    )),
    ("DHS", "CBP", "Customs and Border Protection", "office", (
        "CBP", "Customs and Border Protection", "U.S. Customs and Border Protection",
    )),
    ("HHS", "ACF", "Administration for Children and Families", "office", (
        "ACF", "Administration for Children and Families", "Office of Refugee Resettlement", "ORR",
        "OTIP", "Office on Trafficking in Persons",
    )),
    ("ED", "OSDFS", "Office of Safe and Drug-Free Schools", "office", (
        "OSDFS", "Office of Safe and Drug-Free Schools", "Office of Safe and Drug Free Schools",
        "Safe and Drug-Free Schools",
    )),
    ("DOD", "CTIP-PMO", "Combating Trafficking in Persons Program Management Office", "office", (
        "CTIP PMO", "CTIP Program Management Office",
        "Combating Trafficking in Persons Program Management Office",
    )),
]

#: Offices inside another office: "DOJ Criminal Division (OPDAT)" is OPDAT.
OFFICE_PARENTS: dict[tuple[str, str], str] = {
    ("DOJ", "OPDAT"): "CRM",
    ("DOJ", "ICITAP"): "CRM",
}

#: The office that stands for an agency's presence in a country: "Embassy Accra" is State's
#: post, "USAID/Jakarta" is USAID's country mission (the obligation's country says which).
FIELD_OFFICES: dict[str, str] = {"DOS": "POST", "USAID": "MISSION"}

#: Words that only say "an office of" and carry no name: "U.S. Embassy", "Bureau of ...".
FILLER_WORDS = frozenset({
    "the", "of", "for", "to", "bureau", "office", "division", "department", "dept", "section",
    "unit", "us", "u", "s", "usg", "program", "programs", "funded", "funding", "via", "through",
    "government", "gov", "govt",
})
