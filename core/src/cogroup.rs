//! Cogroups of three and four datasets, as Spark's `cogroup(other1, other2[, other3])`
//! and PySpark's `groupWith`: each side's values are tagged with their side, grouped by key
//! in one shuffle, and split back into one list per side.

use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::Data;

/// A value and the side it came from.
#[derive(Clone, Serialize, Deserialize)]
enum Side<A, B, C, D> {
    A(A),
    B(B),
    C(C),
    D(D),
}

/// One key's values, by side.
type Groups<A, B, C, D> = (Vec<A>, Vec<B>, Vec<C>, Vec<D>);

fn split<A, B, C, D>(values: Vec<Side<A, B, C, D>>) -> Groups<A, B, C, D> {
    let mut g = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for v in values {
        match v {
            Side::A(a) => g.0.push(a),
            Side::B(b) => g.1.push(b),
            Side::C(c) => g.2.push(c),
            Side::D(d) => g.3.push(d),
        }
    }
    g
}

impl<K: Data + Hash + Eq, V: Data> Dataset<(K, V)> {
    /// Every key of the three datasets with its values in each, as Spark's three-way
    /// `cogroup`, in the default partitioning of the three.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let a = ctx.parallelize(vec![('a', 5), ('b', 6)], 2);
    ///     let b = ctx.parallelize(vec![('a', 1), ('b', 4)], 1);
    ///     let c = ctx.parallelize(vec![('a', 2)], 1);
    ///     let mut g = a.cogroup3(&b, &c).collect().unwrap();
    ///     g.sort();
    ///     assert_eq!(
    ///         g,
    ///         vec![('a', (vec![5], vec![1], vec![2])), ('b', (vec![6], vec![4], vec![]))]
    ///     );
    /// });
    /// ```
    pub fn cogroup3<W1: Data, W2: Data>(
        &self,
        b: &Dataset<(K, W1)>,
        c: &Dataset<(K, W2)>,
    ) -> Dataset<(K, (Vec<V>, Vec<W1>, Vec<W2>))> {
        let p = self.default_partitioner(&[
            (b.erased_partitioner(), b.num_partitions()),
            (c.erased_partitioner(), c.num_partitions()),
        ]);
        let tagged: [Dataset<(K, Side<V, W1, W2, ()>)>; 3] = [
            self.map_values(Side::A),
            b.map_values(Side::B),
            c.map_values(Side::C),
        ];
        self.context()
            .union(&tagged)
            .group_by_key_with(p)
            .map_values(|vs| {
                let (a, b, c, _) = split(vs);
                (a, b, c)
            })
    }

    /// Every key of the four datasets with its values in each, as Spark's four-way
    /// `cogroup` and PySpark's `groupWith`, in the default partitioning of the four.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let w = ctx.parallelize(vec![('a', 5), ('b', 6)], 2);
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 1);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let z = ctx.parallelize(vec![('b', 42)], 1);
    ///     let mut g = w.cogroup4(&x, &y, &z).collect().unwrap();
    ///     g.sort();
    ///     assert_eq!(
    ///         g,
    ///         vec![
    ///             ('a', (vec![5], vec![1], vec![2], vec![])),
    ///             ('b', (vec![6], vec![4], vec![], vec![42])),
    ///         ]
    ///     );
    /// });
    /// ```
    pub fn cogroup4<W1: Data, W2: Data, W3: Data>(
        &self,
        b: &Dataset<(K, W1)>,
        c: &Dataset<(K, W2)>,
        d: &Dataset<(K, W3)>,
    ) -> Dataset<(K, Groups<V, W1, W2, W3>)> {
        let p = self.default_partitioner(&[
            (b.erased_partitioner(), b.num_partitions()),
            (c.erased_partitioner(), c.num_partitions()),
            (d.erased_partitioner(), d.num_partitions()),
        ]);
        let tagged = [
            self.map_values(Side::A),
            b.map_values(Side::B),
            c.map_values(Side::C),
            d.map_values(Side::D),
        ];
        self.context()
            .union(&tagged)
            .group_by_key_with(p)
            .map_values(split)
    }
}
