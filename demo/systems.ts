// The catalogue of simulated Danish public systems. The order fixes the demo ports: with the
// default base port 9401 the systems get 9401..9408 and the control endpoint 9409.

export interface SystemDef {
  id: string;
  name: string;
  /** Page title and the one-line description used by the demo configuration. */
  title: string;
  description: string;
  /** The real site the simulation imitates; only shown as text, never contacted. */
  realHost: string;
  /** Brand colour for the page's stylesheet. */
  colour: string;
  heading: string;
  /** Paragraphs of the front page. */
  intro: string[];
  /** Links shown as tiles on the front page: [label, text]. */
  tiles: [string, string][];
  /** Systems where citizens or businesses log in through NemLog-in. */
  login?: { welcome: string; items: string[] };
  /** Usual response time range, ms; keeps the demo's graphs lively but cheap. */
  latency: [number, number];
}

export const DEMO_BASE_PORT = 9401;
export const CONTROL_PORT_OFFSET = 8;

/** The fixed demo credentials, documented in docs/demo.md. */
export const DEMO_USER = { user: 'demo', password: 'demo1234', name: 'Demo Jensen', cpr: '010190-xxxx' } as const;

export const SYSTEMS: readonly SystemDef[] = [
  {
    id: 'mitid',
    name: 'MitID',
    title: 'MitID – Danmarks digitale ID',
    description: 'Danmarks digitale ID, som borgere og medarbejdere bruger til at logge på og godkende',
    realHost: 'www.mitid.dk',
    colour: '#0060e6',
    heading: 'Log på med MitID',
    intro: [
      'MitID er dit digitale ID. Du bruger det til at logge på offentlige selvbetjeninger, din netbank og meget mere.',
      'Godkend med MitID-appen, en kodeviser, en kodeoplæser eller en MitID-chip.',
    ],
    tiles: [
      ['Kom godt i gang', 'Sådan får du MitID, og sådan aktiverer du MitID-appen.'],
      ['Hjælp til MitID', 'Har du glemt dit bruger-ID, eller virker din app ikke?'],
      ['Sikkerhed', 'Godkend aldrig noget i MitID, som du ikke selv har sat i gang.'],
    ],
    latency: [5, 20],
  },
  {
    id: 'nemlog-in',
    name: 'NemLog-in',
    title: 'NemLog-in – Fælles offentlig log-in',
    description: 'Den fælles offentlige log-in-løsning; logger brugere ind med MitID',
    realHost: 'www.nemlog-in.dk',
    colour: '#14143c',
    heading: 'NemLog-in',
    intro: [
      'NemLog-in er den fælles log-in-løsning, der giver adgang til offentlige selvbetjeningsløsninger med MitID.',
      'Du logger på én gang og kan derefter bruge flere selvbetjeninger uden at logge på igen.',
    ],
    tiles: [
      ['Log på', 'Log på med MitID for at bruge offentlig selvbetjening.'],
      ['Erhvervsidentiteter', 'Administrer MitID Erhverv og fuldmagter for din virksomhed.'],
      ['Driftsstatus', 'Se planlagte servicevinduer og aktuelle driftsforstyrrelser.'],
    ],
    latency: [8, 30],
  },
  {
    id: 'borger-dk',
    name: 'borger.dk',
    title: 'borger.dk – Din indgang til det offentlige',
    description: 'Borgernes indgang til det offentlige, med selvbetjening bag log-in',
    realHost: 'www.borger.dk',
    colour: '#1b4f80',
    heading: 'Velkommen til borger.dk',
    intro: [
      'Her finder du information og selvbetjening fra hele den offentlige sektor samlet ét sted.',
      'Log på for at se dine sager, din post og dine oplysninger.',
    ],
    tiles: [
      ['Familie og børn', 'Barsel, børne- og ungeydelse, dagtilbud og skole.'],
      ['Skat', 'Forskudsopgørelse, årsopgørelse og fradrag.'],
      ['Bolig og flytning', 'Flyt adresse, boligstøtte og byggesager.'],
      ['Sundhed og sygdom', 'Sygesikring, egen læge og sundhedskort.'],
    ],
    login: {
      welcome: 'Her er dit overblik over dine sager hos det offentlige.',
      items: ['Flytning: din nye adresse er registreret', 'Boligstøtte: ansøgning under behandling', 'Sygesikringskort: sendt med posten'],
    },
    latency: [10, 40],
  },
  {
    id: 'digital-post',
    name: 'Digital Post',
    title: 'Digital Post – Din digitale postkasse',
    description: 'Den offentlige digitale postkasse til borgere og virksomheder',
    realHost: 'mit.dk',
    colour: '#0b5e55',
    heading: 'Din digitale postkasse',
    intro: [
      'Med Digital Post modtager du breve fra kommunen, regionen, Skattestyrelsen, Udbetaling Danmark og andre myndigheder.',
      'Post fra det offentlige har samme retsvirkning som et brev på papir.',
    ],
    tiles: [
      ['Læs din post', 'Log på med MitID og læs dine breve.'],
      ['Fritagelse', 'Kan du ikke bruge Digital Post, kan du blive fritaget.'],
      ['Adgang for andre', 'Giv en pårørende adgang til din post.'],
    ],
    login: {
      welcome: 'Du har 3 nye breve.',
      items: ['Årsopgørelse fra Skattestyrelsen', 'Indkaldelse til vaccination fra Region Hovedstaden', 'Afgørelse om boligstøtte fra Udbetaling Danmark'],
    },
    latency: [10, 35],
  },
  {
    id: 'nemkonto',
    name: 'NemKonto',
    title: 'NemKonto – Udbetalinger fra det offentlige',
    description: 'Registret over de konti, det offentlige udbetaler penge til',
    realHost: 'www.nemkonto.dk',
    colour: '#6a2c91',
    heading: 'NemKonto',
    intro: [
      'Din NemKonto er den bankkonto, hvor du får udbetalt penge fra det offentlige, fx børne- og ungeydelse, SU og overskydende skat.',
      'Du kan se og skifte din NemKonto i din netbank eller her med MitID.',
    ],
    tiles: [
      ['Skift NemKonto', 'Vælg en anden konto til udbetalinger.'],
      ['Udbetalinger', 'Hvornår kommer pengene, og hvem har sendt dem?'],
      ['Virksomheder', 'Sådan registrerer en virksomhed sin NemKonto.'],
    ],
    login: {
      welcome: 'Din NemKonto er registreret.',
      items: ['Konto: 1234 - xxxxxx7890', 'Seneste udbetaling: Overskydende skat'],
    },
    latency: [8, 30],
  },
  {
    id: 'virk',
    name: 'Virk',
    title: 'Virk – Digital selvbetjening for virksomheder',
    description: 'Virksomhedernes indgang til det offentlige: moms, registrering og indberetninger',
    realHost: 'virk.dk',
    colour: '#00425e',
    heading: 'Virk',
    intro: [
      'Indberet moms, registrer din virksomhed og find vejledninger fra hele det offentlige.',
      'Log på med MitID Erhverv for at bruge selvbetjeningerne.',
    ],
    tiles: [
      ['Start virksomhed', 'Registrer en ny virksomhed og få et CVR-nummer.'],
      ['Moms', 'Indberet og betal moms.'],
      ['Årsrapport', 'Indsend årsrapporten til Erhvervsstyrelsen.'],
    ],
    login: {
      welcome: 'Du repræsenterer Demo ApS (CVR 12345678).',
      items: ['Momsangivelse: frist om 12 dage', 'Årsrapport 2025: modtaget'],
    },
    latency: [12, 40],
  },
  {
    id: 'sundhed-dk',
    name: 'Sundhed.dk',
    title: 'Sundhed.dk – Den offentlige sundhedsportal',
    description: 'Den offentlige sundhedsportal: journal, medicinkort og behandlingssteder',
    realHost: 'www.sundhed.dk',
    colour: '#a31b4f',
    heading: 'Sundhed.dk',
    intro: [
      'Se din journal, dine medicinoplysninger og dine prøvesvar, og find behandlingssteder i hele landet.',
      'Informationen om sygdomme og behandling kan alle læse uden at logge på.',
    ],
    tiles: [
      ['Min sundhedsjournal', 'Se notater fra sygehuse og din egen læge.'],
      ['Medicinkort', 'Se din medicin og dine recepter.'],
      ['Find behandler', 'Find læger, tandlæger og sygehuse.'],
    ],
    login: {
      welcome: 'Her er dine sundhedsoplysninger.',
      items: ['Prøvesvar: 2 nye', 'Medicinkort: opdateret'],
    },
    latency: [10, 40],
  },
  {
    id: 'eindkomst',
    name: 'eIndkomst',
    title: 'eIndkomst – Indberetning af løn og A-skat',
    description: 'Virksomhedernes indberetning af løn, A-skat og arbejdsmarkedsbidrag',
    realHost: 'www.skat.dk/eindkomst',
    colour: '#2d5a27',
    heading: 'eIndkomst',
    intro: [
      'Virksomheder indberetter løn, A-skat og arbejdsmarkedsbidrag til eIndkomst, som Skattestyrelsen administrerer.',
      'Oplysningerne bruges til din forskudsopgørelse, årsopgørelse og til udbetalinger fra det offentlige.',
    ],
    tiles: [
      ['Indberet løn', 'Indberet via Virk eller dit lønsystem.'],
      ['Frister', 'Se fristerne for indberetning og betaling.'],
      ['Ret en indberetning', 'Sådan retter du en fejl i en tidligere indberetning.'],
    ],
    latency: [10, 40],
  },
];

export const SYSTEM_IDS: readonly string[] = SYSTEMS.map((s) => s.id);
