/* Included by blst_wasm.c only (no include guard on purpose): routes blst's field-function names
 * to our wrappers. blst_wasm_unredirect.h lists the same names; keep the two in sync. */
#define mul_mont_384 nitro_mul_mont_384
#define sqr_mont_384 nitro_sqr_mont_384
#define sqr_n_mul_mont_383 nitro_sqr_n_mul_mont_383
#define mul_mont_384x nitro_mul_mont_384x
#define sqr_mont_384x nitro_sqr_mont_384x
#define add_mod_384 nitro_add_mod_384
#define sub_mod_384 nitro_sub_mod_384
#define add_mod_384x nitro_add_mod_384x
#define sub_mod_384x nitro_sub_mod_384x
#define mul_by_1_plus_i_mod_384x nitro_mul_by_1_plus_i_mod_384x
#define mul_382x nitro_mul_382x
#define sqr_382x nitro_sqr_382x
#define add_mod_384x384 nitro_add_mod_384x384
#define sub_mod_384x384 nitro_sub_mod_384x384
#define redc_mont_384 nitro_redc_mont_384
#define lshift_mod_384 nitro_lshift_mod_384
#define mul_by_8_mod_384 nitro_mul_by_8_mod_384
#define mul_by_3_mod_384 nitro_mul_by_3_mod_384
#define mul_by_3_mod_384x nitro_mul_by_3_mod_384x
#define mul_by_8_mod_384x nitro_mul_by_8_mod_384x
#define cneg_mod_384 nitro_cneg_mod_384
