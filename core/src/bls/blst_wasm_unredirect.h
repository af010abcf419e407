/* Included by blst_wasm.c only (no include guard on purpose): lifts blst_wasm_redirect.h, and
 * also the self-definitions no_asm.h leaves behind (e.g. `#define add_mod_384x add_mod_384x`). */
#undef mul_mont_384
#undef sqr_mont_384
#undef sqr_n_mul_mont_383
#undef mul_mont_384x
#undef sqr_mont_384x
#undef add_mod_384
#undef sub_mod_384
#undef add_mod_384x
#undef sub_mod_384x
#undef mul_by_1_plus_i_mod_384x
#undef mul_382x
#undef sqr_382x
#undef add_mod_384x384
#undef sub_mod_384x384
#undef redc_mont_384
#undef lshift_mod_384
#undef mul_by_8_mod_384
#undef mul_by_3_mod_384
#undef mul_by_3_mod_384x
#undef mul_by_8_mod_384x
#undef cneg_mod_384
