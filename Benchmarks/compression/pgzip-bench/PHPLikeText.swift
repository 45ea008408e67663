/// Seeded generator of PHP-like source files (namespaces, classes, docblocks, methods with control
/// flow, SQL strings, arrays), shaped like Magento module code so deflate finds the same kind of
/// repetition it finds in a real code base. splitmix64 keeps it reproducible across platforms.
struct PHPLikeText {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    private mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    private mutating func pick(_ xs: [String]) -> String { xs[int(xs.count)] }

    static let vendors = ["Magento", "Vendor", "Acme", "Smile", "Amasty", "Mageplaza", "Yireo"]
    static let modules = ["Catalog", "Checkout", "Customer", "Sales", "Quote", "Cms", "Store", "Eav", "Backend",
                          "Payment", "Shipping", "Tax", "Inventory", "Search", "Wishlist", "Review", "Newsletter"]
    static let nouns = ["product", "order", "customer", "item", "price", "quote", "address", "store", "attribute",
                        "collection", "config", "repository", "factory", "resource", "entity", "option", "stock",
                        "category", "website", "payment", "shipment", "invoice", "rule", "total", "request"]
    static let verbs = ["get", "set", "load", "save", "delete", "create", "update", "validate", "process", "build",
                        "resolve", "apply", "collect", "fetch", "render", "prepare", "convert", "filter"]
    static let types = ["int", "string", "bool", "array", "float", "?string", "?int", "void", "self"]

    private mutating func ident() -> String {
        let n = pick(Self.nouns)
        return int(3) == 0 ? n + pick(Self.nouns).capitalizedWord : n
    }
    private mutating func className() -> String { pick(Self.nouns).capitalizedWord + pick(["", "Interface", "Factory", "Repository", "Collection", "Provider", "Plugin", "Observer"]) }

    private mutating func statement(_ indent: String) -> String {
        let v = ident(), w = ident()
        switch int(9) {
        case 0: return "\(indent)$\(v) = $this->\(w)Repository->\(pick(Self.verbs))\(pick(Self.nouns).capitalizedWord)($\(w), \(int(100)));\n"
        case 1: return "\(indent)if ($\(v) === null || !isset($data['\(w)_id'])) {\n\(indent)    throw new \\Magento\\Framework\\Exception\\LocalizedException(__('The \(v) with id \"%1\" does not exist.', $\(w)Id));\n\(indent)}\n"
        case 2: return "\(indent)foreach ($\(v)Collection->getItems() as $\(w)) {\n\(indent)    $result[$\(w)->getId()] = $\(w)->get\(pick(Self.nouns).capitalizedWord)();\n\(indent)}\n"
        case 3: return "\(indent)$select = $connection->select()->from(['main_table' => $this->getTable('\(v)_\(w)_entity')], ['entity_id', '\(w)_id'])\n\(indent)    ->where('main_table.store_id = ?', (int)$storeId)\n\(indent)    ->order('main_table.created_at DESC')\n\(indent)    ->limit(\(int(500)));\n"
        case 4: return "\(indent)return $this->\(pick(Self.verbs))\(v.capitalizedWord)($\(w), $storeId ?? $this->storeManager->getStore()->getId());\n"
        case 5: return "\(indent)$this->logger->\(pick(["debug", "info", "warning", "error"]))(sprintf('%s: \(v) %d not \(pick(Self.verbs))d', __METHOD__, $\(w)Id), ['exception' => $e]);\n"
        case 6: return "\(indent)$\(v) = [\n\(indent)    '\(w)' => $\(w),\n\(indent)    'store_id' => \(int(10)),\n\(indent)    'is_active' => \(pick(["true", "false"])),\n\(indent)    'sort_order' => \(int(1000)),\n\(indent)];\n"
        case 7: return "\(indent)// \(pick(["Skip", "Check", "Reset", "Keep", "Load"])) the \(v) before the \(w) is \(pick(Self.verbs))d\n"
        default: return "\(indent)$\(v)Data = $this->serializer->unserialize($\(w)->getData('\(v)_\(int(20))'));\n"
        }
    }

    private mutating func method() -> String {
        let name = pick(Self.verbs) + ident().capitalizedWord
        let argc = int(4)
        var params: [String] = []
        for _ in 0..<argc { params.append("\({ $0 == "void" ? "int" : $0 }(pick(Self.types))) $\(ident())") }
        var s = "    /**\n     * \(name.capitalizedWord) for the given \(pick(Self.nouns)).\n     *\n"
        for p in params { s += "     * @param \(p)\n" }
        let ret = pick(Self.types)
        s += "     * @return \(ret)\n     * @throws \\Magento\\Framework\\Exception\\LocalizedException\n     */\n"
        s += "    public function \(name)(\(params.joined(separator: ", "))): \(ret)\n    {\n"
        for _ in 0..<(2 + int(7)) { s += statement("        ") }
        s += "    }\n\n"
        return s
    }

    mutating func nextFile() -> String {
        let vendor = pick(Self.vendors), module = pick(Self.modules), cls = className()
        var s = "<?php\n/**\n * Copyright © \(vendor). All rights reserved.\n * See COPYING.txt for license details.\n */\ndeclare(strict_types=1);\n\n"
        s += "namespace \(vendor)\\\(module)\\Model\\\(pick(Self.nouns).capitalizedWord);\n\n"
        for _ in 0..<(3 + int(6)) {
            s += "use \(pick(Self.vendors))\\\(pick(Self.modules))\\Api\\\(className());\n"
        }
        s += "\n/**\n * \(cls) model.\n */\nclass \(cls) extends \\Magento\\Framework\\Model\\AbstractModel implements \(className())\n{\n"
        for _ in 0..<(1 + int(4)) {
            s += "    const \(ident().uppercased())_\(pick(Self.nouns).uppercased()) = '\(ident())_\(int(100))';\n"
        }
        s += "\n"
        for _ in 0..<(2 + int(5)) {
            s += "    /**\n     * @var \\\(pick(Self.vendors))\\\(pick(Self.modules))\\Model\\\(className())\n     */\n    private $\(ident());\n\n"
        }
        for _ in 0..<(2 + int(8)) { s += method() }
        s += "}\n"
        return s
    }
}

extension String {
    /// Foundation's `capitalized` for one ASCII word (first letter upper, the rest lower), which is
    /// all the generator feeds it; kept Foundation-free like ParallelGzip.
    var capitalizedWord: String { prefix(1).uppercased() + dropFirst().lowercased() }
}
