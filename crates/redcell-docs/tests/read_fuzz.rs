//! The roster readers never panic: arbitrary bytes, and valid xlsx/CSV files
//! with bytes flipped, cut or inserted, are either read or refused.

use proptest::prelude::*;
use redcell_docs::read::{MAX_BYTES, read_rows};
use redcell_docs::rosters::template;
use redcell_domain::rosters::ImportKind;

fn read(bytes: &[u8]) {
    let mut n = 0u64;
    let _ = read_rows(bytes, MAX_BYTES, &mut |_, cells| {
        n += cells.len() as u64;
        true
    });
}

fn valid_xlsx() -> Vec<u8> {
    template(ImportKind::Households).expect("template")
}

const CSV: &str =
    "网格编码,楼栋名称,单元,房号,姓名,身份证号\nWG-01,1幢,1,301,张三,99010119800101001X\n\"a,b\",\"x\ny\",,,,\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read(&bytes);
    }

    #[test]
    fn zip_prefixed_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut b = b"PK\x03\x04".to_vec();
        b.extend(bytes);
        read(&b);
    }

    #[test]
    fn mutated_xlsx(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                    cut in any::<prop::sample::Index>()) {
        let mut b = valid_xlsx();
        for (i, v) in &flips {
            let at = i.index(b.len());
            b[at] = *v;
        }
        read(&b);
        let at = cut.index(b.len());
        read(&b[..at]);
    }

    #[test]
    fn mutated_csv(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut b = CSV.as_bytes().to_vec();
        for (i, v) in &flips {
            let at = i.index(b.len());
            b[at] = *v;
        }
        read(&b);
    }
}
