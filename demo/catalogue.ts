/** The demo jewellery shop's catalogue: served by the demo shop and seeded into `products`. */
export type DemoProduct = {
  sku: string;
  name: string;
  category: "rings" | "earrings" | "necklaces" | "watches";
  price: number;
  description: string;
};

export const CATEGORIES = [
  { slug: "rings", title: "Rings" },
  { slug: "earrings", title: "Earrings" },
  { slug: "necklaces", title: "Necklaces" },
  { slug: "watches", title: "Watches" },
] as const;

export const CATALOGUE: DemoProduct[] = [
  {
    sku: "R-100",
    name: "Solitaire ring, white gold",
    category: "rings",
    price: 890,
    description: "A single 0.3 ct diamond.",
  },
  {
    sku: "R-101",
    name: "Stacking ring, rose gold",
    category: "rings",
    price: 149,
    description: "Thin, polished, stackable.",
  },
  { sku: "R-102", name: "Signet ring, silver", category: "rings", price: 119, description: "Engravable oval face." },
  {
    sku: "R-103",
    name: "Eternity band, platinum",
    category: "rings",
    price: 1490,
    description: "Pavé-set all around.",
  },
  {
    sku: "R-104",
    name: "Sapphire cocktail ring",
    category: "rings",
    price: 640,
    description: "Ceylon sapphire, halo.",
  },
  {
    sku: "R-105",
    name: "Twisted band, yellow gold",
    category: "rings",
    price: 229,
    description: "Two strands, one ring.",
  },
  { sku: "E-200", name: "Pearl studs", category: "earrings", price: 89, description: "Freshwater pearls, 7 mm." },
  { sku: "E-201", name: "Hoop earrings, gold", category: "earrings", price: 179, description: "Classic 20 mm hoops." },
  { sku: "E-202", name: "Diamond drops", category: "earrings", price: 720, description: "A gift that always fits." },
  { sku: "E-203", name: "Ear climbers, silver", category: "earrings", price: 69, description: "Five tiny stones." },
  { sku: "E-204", name: "Emerald studs", category: "earrings", price: 390, description: "Colombian emeralds." },
  { sku: "E-205", name: "Tassel earrings", category: "earrings", price: 59, description: "Light and playful." },
  {
    sku: "N-300",
    name: "Pendant necklace, heart",
    category: "necklaces",
    price: 129,
    description: "Sterling silver heart.",
  },
  {
    sku: "N-301",
    name: "Tennis necklace",
    category: "necklaces",
    price: 2400,
    description: "Fifty brilliant-cut stones.",
  },
  { sku: "N-302", name: "Pearl strand", category: "necklaces", price: 560, description: "Akoya pearls, 45 cm." },
  {
    sku: "N-303",
    name: "Initial charm chain",
    category: "necklaces",
    price: 99,
    description: "One letter, your choice.",
  },
  {
    sku: "N-304",
    name: "Layered chain set",
    category: "necklaces",
    price: 159,
    description: "Three lengths, one clasp.",
  },
  { sku: "N-305", name: "Locket, engraved", category: "necklaces", price: 210, description: "Room for two photos." },
  {
    sku: "W-400",
    name: "Chronograph, steel",
    category: "watches",
    price: 1290,
    description: "Automatic, 42 mm, sapphire glass.",
  },
  { sku: "W-401", name: "Diver watch, 200 m", category: "watches", price: 990, description: "Unidirectional bezel." },
  { sku: "W-402", name: "Dress watch, leather", category: "watches", price: 540, description: "Slim, hand-wound." },
  { sku: "W-403", name: "Pilot chronograph", category: "watches", price: 1690, description: "Flyback complication." },
  {
    sku: "W-404",
    name: "Ladies' watch, mother-of-pearl",
    category: "watches",
    price: 690,
    description: "Quartz, 28 mm.",
  },
  {
    sku: "W-405",
    name: "Smart hybrid watch",
    category: "watches",
    price: 249,
    description: "Analogue hands, step counter.",
  },
];

export function findProduct(sku: string): DemoProduct | undefined {
  return CATALOGUE.find((product) => product.sku === sku);
}
